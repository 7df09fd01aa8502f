//! The REST API, `/api/v1`: JSON in and out, cursor pagination, errors as
//! `application/problem+json` ([`problem`]), and an OpenAPI document generated from the handlers
//! (utoipa), served at `GET /api/v1/openapi.json` and committed as `crates/tether-server/openapi.json`
//! (a test fails when the two drift).
//!
//! Each area is one module: its handlers carry `#[utoipa::path]` and are registered in
//! `api()` with `routes!`, which records them in the document too. Handlers stay thin: they
//! decode the request, call [`tether_service::Service`], and encode the answer.
//!
//! Every route but health, the document and sign-in needs a login ([`auth::authenticate`]); a
//! handler finds who is calling as `Extension<tether_service::accounts::Principal>`.

mod apps;
pub mod auth;
mod catalog;
pub mod connections;
mod flows;
mod health;
pub mod problem;
mod runs;
mod samples;

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
    // `PayloadPart` is only a query parameter's type, which utoipa does not collect by itself;
    // without it the document has a dangling `$ref` that generators refuse.
    components(schemas(problem::ProblemBody, tether_service::runs::PayloadPart)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
)]
struct ApiDoc;

/// The two ways to authenticate, as OpenAPI security schemes.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token, `tth_…` (`tether token create NAME`)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::SESSION_COOKIE,
                "The session cookie set by `POST /auth/login`; unsafe requests must come from \
                 this server's own pages.",
            ))),
        );
    }
}

/// The API's routes, relative to [`PREFIX`], with their OpenAPI entries. Add an area's
/// handlers here.
fn api() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(samples::fetch))
        .routes(routes!(samples::start_capture))
        .routes(routes!(samples::capture))
        .routes(routes!(samples::from_run))
        .routes(routes!(samples::list))
        .routes(routes!(samples::preview))
        .routes(routes!(samples::test_step))
        .routes(routes!(auth::setup_status, auth::setup))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::list_tokens, auth::create_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(flows::list_flows, flows::create_flow))
        .routes(routes!(flows::get_flow, flows::delete_flow))
        .routes(routes!(flows::list_templates))
        .routes(routes!(apps::manifest))
        .routes(routes!(apps::call))
        .routes(routes!(flows::save_draft, flows::discard_draft))
        .routes(routes!(flows::test_run))
        .routes(routes!(flows::publish))
        .routes(routes!(flows::list_versions))
        .routes(routes!(flows::get_version))
        .routes(routes!(flows::enable))
        .routes(routes!(flows::disable))
        .routes(routes!(connections::list, connections::create))
        .routes(routes!(
            connections::get,
            connections::rename,
            connections::delete
        ))
        .routes(routes!(connections::test))
        .routes(routes!(connections::reconnect))
        .routes(routes!(connections::start_oauth))
        .routes(routes!(connections::settings))
        .routes(routes!(catalog::catalog))
        .routes(routes!(runs::list_runs))
        .routes(routes!(runs::run_events))
        .routes(routes!(runs::get_run))
        .routes(routes!(runs::step_payload))
        .routes(routes!(runs::event_payload))
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

/// Every `/api/v1` route, with `GET /api/v1/openapi.json`, and the OAuth callback
/// (`/oauth/callback/{app}`, outside the API: browsers land there).
pub fn routes(service: Service) -> Router {
    let callback = connections::callback_routes(service.clone());
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
        .fallback(problem::not_found);
    let state = ApiState {
        service: service.clone(),
    };
    let api = api
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state);
    Router::new()
        .nest(PREFIX, api)
        .merge(auth::pages(service))
        .merge(callback)
}
