//! `GET /api/v1/health`: is this node able to serve (its store answers)? Needs no login, so a
//! load balancer or uptime check can call it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;

/// The node's health.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok` or `unavailable`.
    status: &'static str,
    /// `ok` or `unreachable`.
    store: &'static str,
    /// This Tether's version.
    version: &'static str,
}

/// The node's health: 200 when its store answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses(
        (status = 200, description = "The node serves", body = Health),
        (status = 503, description = "The store is unreachable", body = Health),
    ),
    security(()),
)]
pub(crate) async fn health(State(state): State<ApiState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    match state.service.store().run_counts().await {
        Ok(_) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                store: "ok",
                version,
            }),
        ),
        Err(error) => {
            tracing::warn!(error = %crate::error::chain(&error), "Health check: the store is unreachable.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    store: "unreachable",
                    version,
                }),
            )
        }
    }
}
