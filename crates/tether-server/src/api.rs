//! `GET /healthz`: is the store reachable (for load balancers; no login). The API itself is
//! [`crate::v1`]; the first, unauthenticated `GET /api/runs` was removed because it showed run
//! data to anyone who could reach the server (`GET /api/v1/runs` replaces it).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tether_store::Store;

use crate::error::chain;

pub(crate) fn routes(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(store)
}

/// 200 when the store answers a query, 503 otherwise (a load balancer takes the node out).
async fn healthz(State(store): State<Store>) -> (StatusCode, Json<Value>) {
    match store.run_counts().await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(error) => {
            tracing::warn!(error = %chain(&error), "Health check: the store is unreachable.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "store": "unreachable"})),
            )
        }
    }
}
