//! The Apps page's routes: `GET /api/v1/apps/{app}/manifest` (a manifest app's YAML with its
//! problems at their line and field) and `POST /api/v1/operations/{id}/call` (try one operation
//! through a connection; a write only with `write: true`; the answer redacted).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use tether_service::apps::{CallRequest, CallResult, ManifestView};

use super::ApiState;
use super::problem::{Problem, ProblemBody};

/// An app's manifest as shipped, with every validation problem placed at its line and field.
/// Apps with a typed connector (HighLevel, Flickr) have none (404).
#[utoipa::path(
    get,
    path = "/apps/{app}/manifest",
    tag = "catalog",
    params(("app" = String, Path, description = "The app id (`details_flowers`)")),
    responses(
        (status = 200, description = "The manifest and its problems", body = ManifestView),
        (status = 404, description = "No such app, or an app without a manifest", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn manifest(
    State(state): State<ApiState>,
    Path(app): Path<String>,
) -> Result<Json<ManifestView>, Problem> {
    Ok(Json(state.service.app_manifest(&app)?))
}

/// Calls one operation through a stored connection and answers its output, secret fields
/// redacted. An operation that only reads (get, list, search, find, lookup, a poll trigger) just
/// runs; any other may write to the app and runs only with `write: true`. The operation's own
/// failure (the app refused the input) is an answer with `ok: false`.
#[utoipa::path(
    post,
    path = "/operations/{id}/call",
    tag = "catalog",
    params(("id" = String, Path, description = "The operation (`details_flowers.customer.get`)")),
    request_body = CallRequest,
    responses(
        (status = 200, description = "The call was made (see `ok`)", body = CallResult),
        (status = 400, description = "A bad body, a connection of another app, or a write without `write: true`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such operation or connection", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn call(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<CallResult>, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(&body);
    let request: CallRequest = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| Problem::invalid(format!("body {}: {}", error.path(), error.inner())))?;
    Ok(Json(state.service.call_operation(&id, request).await?))
}
