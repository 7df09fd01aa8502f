//! The embedded UI as the server answers it: the app's page for every page path, immutable
//! hashed assets that 404 when missing, and the server's own paths never answered with the app.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set up should fail loudly"
)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

async fn get(method: &str, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = tether_web::routes()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn built() {
    assert!(
        tether_web::is_built(),
        "this build has no web UI: install Node.js 20+ and npm and rebuild (see the cargo:warning \
         of tether-web's build script), or set TETHER_WEB_DIST to a built web/ folder"
    );
}

#[tokio::test]
async fn every_page_path_is_the_app_and_not_cached() {
    built();
    for path in [
        "/",
        "/flows",
        "/runs/42?status=dead",
        "/setup?token=abc",
        "/no/such/page",
    ] {
        let (status, headers, body) = get("GET", path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(body.contains("<div id=\"app\">"), "{path}: {body}");
        // No inline script: the server's CSP (`default-src 'self'`) would block it.
        assert!(!body.contains("<script>"), "{body}");
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_a_missing_one_is_404() {
    built();
    let (_, _, index) = get("GET", "/").await;
    let scripts: Vec<&str> = index
        .split("src=\"")
        .skip(1)
        .chain(index.split("href=\"").skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|path| path.starts_with("/assets/"))
        .collect();
    assert!(
        scripts.iter().any(|path| path.ends_with(".js"))
            && scripts.iter().any(|path| path.ends_with(".css")),
        "index.html names no JS and CSS assets: {index}"
    );
    for path in scripts {
        let (status, headers, body) = get("GET", path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], tether_web::IMMUTABLE);
        let kind = headers[header::CONTENT_TYPE].to_str().unwrap();
        if path.ends_with(".js") {
            assert!(kind.contains("javascript"), "{path}: {kind}");
        } else {
            assert_eq!(kind, "text/css", "{path}");
        }
        assert!(!body.is_empty());
    }
    let (status, headers, body) = get("GET", "/assets/index-nothere.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(body.contains("/assets/index-nothere.js"), "{body}");
}

#[tokio::test]
async fn the_servers_own_paths_never_fall_back_to_the_app() {
    for path in [
        "/api/v1/nope",
        "/api",
        "/api/other",
        "/hooks/nope",
        "/oauth/x",
        "/healthz",
        "/metrics",
    ] {
        let (status, headers, body) = get("GET", path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{path}"
        );
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "not_found", "{path}");
        assert_eq!(problem["status"], 404, "{path}");
    }
    assert!(!tether_web::is_server_path("/apis"));
    assert!(!tether_web::is_server_path("/hookshot"));
}

#[tokio::test]
async fn a_write_to_a_page_path_is_refused() {
    let (status, headers, _) = get("POST", "/flows").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::ALLOW], "GET, HEAD");
}
