//! `/api/v1/connections`: the stored connections and their health (never a secret), creating
//! one from a private token or an API key (tested first), testing, renaming, deleting, and
//! starting an OAuth connection; `GET /api/v1/settings`: the addresses a person registers with
//! the apps. The OAuth callback, `GET /oauth/callback/{app}`, lives outside `/api`: the app sends
//! the person's browser there, and it answers a plain HTML page. When that page is the web UI's
//! popup, its script (`/oauth/report.js`: a file of our own origin, as the CSP's
//! `default-src 'self'` allows, never inline) tells the opener the outcome with `postMessage`
//! to this origin only, and closes the popup.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tether_service::connections::{
    ConnectionView, CreateConnection, OAuthStarted, PublicSettings, ReconnectConnection, StartOAuth,
};
use tether_service::{Page, Service};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::problem::{Problem, ProblemBody};

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// `PATCH /connections/{id}`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RenameConnection {
    /// The new unique name.
    name: String,
}

/// The connections, by name, with their health and the flows that use them.
#[utoipa::path(
    get,
    path = "/connections",
    tag = "connections",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of connections", body = Page<ConnectionView>),
        (status = 400, description = "A bad limit or cursor", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<ConnectionView>>, Problem> {
    Ok(Json(
        state
            .service
            .connections(query.limit, query.cursor.as_deref())
            .await?,
    ))
}

/// Stores a connection with a HighLevel private integration token or a Details Flowers API
/// key, tested first: credentials the service refuses are not stored (422 naming the cause); an
/// unreachable service is stored as `unreachable`; `skipTest` stores it as `untested`.
#[utoipa::path(
    post,
    path = "/connections",
    tag = "connections",
    request_body = CreateConnection,
    responses(
        (status = 201, description = "Stored, with the test's outcome as its health", body = ConnectionView),
        (status = 400, description = "A field is wrong (named in `diagnostics`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The service refused the credentials; nothing was stored", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn create(
    State(state): State<ApiState>,
    body: Result<Json<CreateConnection>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<ConnectionView>), Problem> {
    let Json(request) = body?;
    Ok((
        StatusCode::CREATED,
        Json(state.service.create_connection(request).await?),
    ))
}

/// One connection, by id or name.
#[utoipa::path(
    get,
    path = "/connections/{id}",
    tag = "connections",
    params(("id" = String, Path, description = "The connection's id or name")),
    responses(
        (status = 200, description = "The connection", body = ConnectionView),
        (status = 404, description = "No such connection", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, Problem> {
    Ok(Json(state.service.connection(&id).await?))
}

/// Tests the connection with one cheap read and answers it with its new health.
#[utoipa::path(
    post,
    path = "/connections/{id}/test",
    tag = "connections",
    params(("id" = String, Path, description = "The connection's id or name")),
    responses(
        (status = 200, description = "Tested; `health` and `lastError` tell the outcome", body = ConnectionView),
        (status = 404, description = "No such connection", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn test(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, Problem> {
    Ok(Json(state.service.test_connection(&id).await?))
}

/// Gives a connection made with a private token or an API key a new one, tested first: refused
/// credentials are not stored (422, on `token`). OAuth connections reconnect through
/// `POST /connections/oauth` with their name.
#[utoipa::path(
    post,
    path = "/connections/{id}/reconnect",
    tag = "connections",
    params(("id" = String, Path, description = "The connection's id or name")),
    request_body = ReconnectConnection,
    responses(
        (status = 200, description = "The new credentials are stored, with the test's outcome as the health", body = ConnectionView),
        (status = 400, description = "An empty token, or an OAuth connection (named in `diagnostics`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such connection", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The service refused the credentials; the old ones stay", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn reconnect(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Result<Json<ReconnectConnection>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ConnectionView>, Problem> {
    let Json(request) = body?;
    Ok(Json(
        state.service.reconnect_connection(&id, request).await?,
    ))
}

/// Renames the connection. Refused (409) while a flow names it by its old name.
#[utoipa::path(
    patch,
    path = "/connections/{id}",
    tag = "connections",
    params(("id" = String, Path, description = "The connection's id or name")),
    request_body = RenameConnection,
    responses(
        (status = 200, description = "Renamed", body = ConnectionView),
        (status = 400, description = "Not a valid name", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such connection", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or flows name the connection by its old name (listed in `detail`, and each in `diagnostics` at `usedBy`)", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn rename(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Result<Json<RenameConnection>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ConnectionView>, Problem> {
    let Json(request) = body?;
    Ok(Json(
        state.service.rename_connection(&id, &request.name).await?,
    ))
}

/// Deletes the connection and its credentials. Refused (409) while flows use it (listed).
#[utoipa::path(
    delete,
    path = "/connections/{id}",
    tag = "connections",
    params(("id" = String, Path, description = "The connection's id or name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such connection", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Flows use it (listed in `detail`, and each in `diagnostics` at `usedBy`)", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.service.delete_connection(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts an OAuth connection: answers the consent page's URL to open in a browser. The app
/// sends the browser back to `redirectUrl` (`{publicUrl}/oauth/callback/{app}`), which stores
/// and tests the connection. The authorization is single use and expires in 15 minutes.
#[utoipa::path(
    post,
    path = "/connections/oauth",
    tag = "connections",
    request_body = StartOAuth,
    responses(
        (status = 200, description = "Open `authorizeUrl`", body = OAuthStarted),
        (status = 400, description = "A field is wrong or missing (client id or secret)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The name belongs to another app's connection", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn start_oauth(
    State(state): State<ApiState>,
    body: Result<Json<StartOAuth>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<OAuthStarted>, Problem> {
    let Json(request) = body?;
    Ok(Json(state.service.start_oauth(request).await?))
}

/// The public URL and the addresses to register with the apps: each app's OAuth redirect URL
/// and HighLevel's webhook URL.
#[utoipa::path(
    get,
    path = "/settings",
    tag = "settings",
    responses((status = 200, description = "The addresses", body = PublicSettings)),
)]
pub(crate) async fn settings(State(state): State<ApiState>) -> Json<PublicSettings> {
    Json(state.service.public_settings())
}

/// `GET /oauth/callback/{app}`: where the app sends the person's browser after consent, and
/// `GET /oauth/report.js`, the script of its page.
pub fn callback_routes(service: Service) -> Router {
    Router::new()
        .route("/oauth/callback/{app}", axum::routing::get(callback))
        .route("/oauth/report.js", axum::routing::get(report_script))
        .with_state(service)
}

/// The callback page's script: when the page is a popup of Tether's own page, it tells the
/// opener the outcome (`postMessage` to this origin only, so no other page can read it) and
/// closes the popup; opened any other way, the page stays as it is.
const REPORT_JS: &str = r#"// Tells the page that opened this OAuth popup how the connection went, then closes it.
(function () {
  var data = document.body.dataset;
  var opener = window.opener;
  if (!opener || opener.closed) return;
  try {
    opener.postMessage(
      {
        type: 'tether:oauth',
        outcome: data.outcome,
        app: data.app,
        connection: data.connection || null,
        health: data.health || null,
        message: data.message || null,
      },
      window.location.origin
    );
  } catch (error) {
    return;
  }
  var note = document.getElementById('closing');
  if (note) note.hidden = false;
  window.close();
})();
"#;

async fn report_script() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        REPORT_JS,
    )
        .into_response()
}

async fn callback(
    State(service): State<Service>,
    Path(app): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match service.complete_oauth(&app, &query).await {
        Ok(connection) => {
            let health = connection.health.as_str();
            let note = connection
                .last_error
                .as_deref()
                .map(|error| format!("<p>The test said: {}</p>", escape(error)))
                .unwrap_or_default();
            page(
                StatusCode::OK,
                "Connected",
                &[
                    ("outcome", "connected"),
                    ("app", &app),
                    ("connection", &connection.name),
                    ("health", health),
                    ("message", connection.last_error.as_deref().unwrap_or("")),
                ],
                &format!(
                    "<p>Connection <b>{}</b> is stored; its test says <b>{health}</b>.</p>{note}",
                    escape(&connection.name)
                ),
            )
        }
        Err(error) => {
            if error.code == tether_service::ErrorCode::Internal {
                tracing::error!(error = %crate::error::chain(&error), "An OAuth callback failed.");
            }
            page(
                super::problem::status(error.code),
                "Not connected",
                &[
                    ("outcome", "failed"),
                    ("app", &app),
                    ("message", &error.message),
                ],
                &format!("<p>{}</p>", escape(&error.message)),
            )
        }
    }
}

/// The callback's page; `data` goes into `data-*` attributes of the body for its script. Links
/// are relative, so the page works under a public URL with a path.
fn page(status: StatusCode, title: &str, data: &[(&str, &str)], body: &str) -> Response {
    let attributes: String = data
        .iter()
        .map(|(name, value)| format!(" data-{name}=\"{}\"", escape(value)))
        .collect();
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tether: {title}</title>\
             <script src=\"../report.js\" defer></script></head>\
             <body{attributes}><h1>{title}</h1>{body}\
             <p id=\"closing\" hidden>Reported to Tether; this window closes.</p>\
             <p><a href=\"../../connections\">Open Tether's connections</a> (you can close this tab).</p></body></html>"
        )),
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
