//! `GET /api/v1/catalog`: the apps, every operation with its schemas and an example, and the
//! webhook events flows can start on: what the editor's palette and inspector are built from.

use axum::Json;
use axum::extract::State;
use tether_service::catalog::CatalogView;

use super::ApiState;

/// The catalog: apps, operations (input and output JSON Schemas with references inlined, and an
/// example output) and webhook events (with the official example payload).
#[utoipa::path(
    get,
    path = "/catalog",
    tag = "catalog",
    responses((status = 200, description = "The catalog", body = CatalogView)),
)]
pub(crate) async fn catalog(State(state): State<ApiState>) -> Json<CatalogView> {
    Json(state.service.catalog_view())
}
