//! Tether's web UI: the Svelte app in `web/`, built by `build.rs` (npm and vite) at compile time
//! and embedded in the binary, and [`routes`], which serves it.
//!
//! Serving rules: the server's own paths (`/api/…`, `/hooks/…`, `/oauth/…`, `/healthz`,
//! `/metrics`) never fall back to the app and answer a problem JSON 404 here; hashed files under
//! `/assets/` are immutable for a year and 404 when missing; every other GET is the app's page
//! (`index.html`, `Cache-Control: no-cache`), whose own router reads the path.
//!
//! When the build had no Node.js or npm, the page says how to get the UI instead ([`is_built`]).

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

static DIST: Dir<'static> = include_dir!("$OUT_DIR/dist");

/// `Cache-Control` of hashed assets: their name changes with their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Whether the UI was built into this binary (else the page says how to get it).
pub fn is_built() -> bool {
    DIST.get_file("index.html").is_some()
}

/// Whether `path` belongs to the server itself, so that a miss there is a 404 and never the app.
pub fn is_server_path(path: &str) -> bool {
    ["/api", "/hooks", "/oauth"]
        .iter()
        .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")))
        || matches!(path, "/healthz" | "/metrics")
}

/// The UI's routes: a fallback for every path no other route took. Merge it last.
pub fn routes() -> Router {
    Router::new().fallback(serve)
}

fn problem(status: StatusCode, detail: String) -> Response {
    let body = format!(
        "{{\"type\":\"about:blank\",\"title\":{title:?},\"status\":{code},\"detail\":{detail:?},\"code\":{kind:?}}}",
        title = status.canonical_reason().unwrap_or(""),
        code = status.as_u16(),
        kind = if status == StatusCode::NOT_FOUND {
            "not_found"
        } else {
            "invalid"
        },
    );
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body,
    )
        .into_response()
}

async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if is_server_path(path) {
        return problem(
            StatusCode::NOT_FOUND,
            format!("no route for {method} {path}"),
        );
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} {path}: the web UI's pages answer GET only"),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if let Some(asset) = path.strip_prefix("/assets/") {
        return match DIST.get_file(format!("assets/{asset}")) {
            Some(file) => file_response(file.path(), file.contents(), IMMUTABLE),
            None => problem(
                StatusCode::NOT_FOUND,
                format!("no asset {path} in this build of the web UI"),
            ),
        };
    }
    // Other files vite copied from `public/` (none yet), not hashed.
    let name = path.trim_start_matches('/');
    if !name.is_empty()
        && name != "index.html"
        && let Some(file) = DIST.get_file(name)
    {
        return file_response(file.path(), file.contents(), "no-cache");
    }
    index()
}

fn file_response(path: &std::path::Path, contents: &'static [u8], cache: &'static str) -> Response {
    let kind = mime_guess::from_path(path).first_or_octet_stream();
    let mut response = contents.into_response();
    let headers = response.headers_mut();
    if let Ok(kind) = HeaderValue::from_str(kind.essence_str()) {
        headers.insert(header::CONTENT_TYPE, kind);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The app's page (`index.html`, not cached), or, in a build without the UI, a page that says
/// how to get it. The server answers it for `GET /login` without a link token, too.
pub fn index() -> Response {
    let (status, body): (StatusCode, std::borrow::Cow<'static, [u8]>) =
        match DIST.get_file("index.html") {
            Some(file) => (StatusCode::OK, file.contents().into()),
            None => (
                StatusCode::OK,
                missing_page(
                    DIST.get_file("MISSING")
                        .and_then(|file| file.contents_utf8())
                        .unwrap_or("the build did not run"),
                )
                .into_bytes()
                .into(),
            ),
        };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn missing_page(why: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tether: no web UI in this build</title></head>\n\
         <body><h1>This build of Tether has no web UI</h1>\n\
         <p>The web UI is built from <code>web/</code> when Tether is compiled, and that needs Node.js 20 or newer and npm.\n\
         Install them (for example from <a href=\"https://nodejs.org/\">nodejs.org</a> or your system's packages), then rebuild Tether\n\
         (<code>cargo build</code>). A prebuilt UI folder can be given with <code>TETHER_WEB_DIST=path</code> instead.</p>\n\
         <p>Why it is missing: {}</p>\n\
         <p>The REST API works without it: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p></body></html>\n",
        escape(why)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_ui_page_says_how_to_get_it_and_escapes_the_reason() {
        let page = missing_page("`node --version` answered \"<v18>\" & failed");
        assert!(page.contains("Node.js 20 or newer and npm"), "{page}");
        assert!(page.contains("TETHER_WEB_DIST"), "{page}");
        assert!(
            page.contains("answered &quot;&lt;v18&gt;&quot; &amp; failed"),
            "{page}"
        );
        assert!(!page.contains("<v18>"));
        // Nothing inline that the server's CSP would block.
        assert!(!page.contains("<script") && !page.contains("style="));
    }
}
