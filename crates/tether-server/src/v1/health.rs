//! `GET /api/v1/health`: is this node able to serve (its store answers)? Needs no login, so a
//! load balancer or uptime check can call it, and answers any origin (`Access-Control-Allow-Origin:
//! *`, no credentials), so the settings page can check from the browser that the public URL
//! reaches this very server (`instance`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;

/// The node's health (named apart from a connection's `Health`, which the document also holds).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeHealth {
    /// `ok` or `unavailable`.
    status: &'static str,
    /// `ok` or `unreachable`.
    store: &'static str,
    /// This Tether's version.
    version: &'static str,
    /// This server process's random id, new at every start: two addresses answering the same
    /// id reach the same server.
    instance: String,
    /// When this server process started (RFC 3339).
    started_at: String,
}

/// The node's health: 200 when its store answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses(
        (status = 200, description = "The node serves", body = NodeHealth),
        (status = 503, description = "The store is unreachable", body = NodeHealth),
    ),
    security(()),
)]
pub(crate) async fn health(State(state): State<ApiState>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    let service = &state.service;
    let started_at = chrono::DateTime::from_timestamp_millis(service.started_at_ms())
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (status, health) = match service.store().flow_change_counter().await {
        Ok(_) => (
            StatusCode::OK,
            NodeHealth {
                status: "ok",
                store: "ok",
                version,
                instance: service.instance_id().to_owned(),
                started_at,
            },
        ),
        Err(error) => {
            tracing::warn!(error = %crate::error::chain(&error), "Health check: the store is unreachable.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                NodeHealth {
                    status: "unavailable",
                    store: "unreachable",
                    version,
                    instance: service.instance_id().to_owned(),
                    started_at,
                },
            )
        }
    };
    let mut response = (status, Json(health)).into_response();
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
