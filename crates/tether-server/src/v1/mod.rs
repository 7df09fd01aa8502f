//! The REST API, `/api/v1`: JSON in and out, cursor pagination, errors as
//! `application/problem+json` ([`problem`]), and an OpenAPI document generated from the handlers
//! (utoipa), served at `GET /api/v1/openapi.json` and committed as `crates/tether-server/openapi.json`
//! (a test fails when the two drift).
//!
//! Each area is one module: its handlers carry `#[utoipa::path]` and are registered in
//! [`routes`] with `routes!`, which records them in the document too. Handlers stay thin: they
//! decode the request, call [`tether_service::Service`], and encode the answer.

mod health;
pub mod problem;
mod runs;

use axum::Router;
use tether_service::Service;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use problem::Problem;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";

/// What every handler gets.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The service layer.
    pub service: Service,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tether API",
        description = "Flows, connections, runs and accounts of a Tether server. Errors are \
                       `application/problem+json` with a stable `code` and, for invalid input, \
                       `diagnostics`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(problem::ProblemBody))
)]
struct ApiDoc;

/// The API's routes, relative to [`PREFIX`], with their OpenAPI entries. Add an area's
/// handlers here.
fn api() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(runs::list_runs))
        .routes(routes!(runs::run_events))
        .routes(routes!(runs::get_run))
        .routes(routes!(runs::step_payload))
        .routes(routes!(runs::retry_run))
        .routes(routes!(runs::list_dead_letters))
        .routes(routes!(runs::replay_dead_letters))
        .routes(routes!(runs::replay_dead_letter))
        .routes(routes!(runs::resolve_dead_letter))
}

/// The OpenAPI document of `/api/v1`, as served and committed.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(PREFIX, api())
        .split_for_parts();
    // The crate's version would make the committed document change on every release.
    doc.info.version = "1".into();
    doc
}

/// The document as committed: pretty JSON with a final newline.
pub fn openapi_json() -> String {
    let mut text = openapi()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": {:?}}}", error.to_string()));
    text.push('\n');
    text
}

/// Every `/api/v1` route, with `GET /api/v1/openapi.json`.
pub fn routes(service: Service) -> Router {
    let (router, _) = api().split_for_parts();
    let document = openapi_json();
    let api = router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document,
                    )
                }
            }),
        )
        .fallback(problem::not_found)
        .with_state(ApiState { service });
    Router::new().nest(PREFIX, api)
}
