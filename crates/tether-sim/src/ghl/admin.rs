//! The simulator's admin API under `/__sim`, a prefix the real API does not use: request log,
//! faults, rate limits, clock, tokens, webhooks and records, for tests and demos.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::faults::FaultsConfig;
use super::state::World;

/// The admin routes.
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route("/__sim/faults", put(set_faults).get(get_faults))
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    after: u64,
}

async fn requests(State(world): State<Arc<World>>, Query(since): Query<Since>) -> Json<Value> {
    Json(json!({ "requests": world.log.since(since.after) }))
}

async fn clear_requests(State(world): State<Arc<World>>) -> Json<Value> {
    world.log.clear();
    Json(json!({ "cleared": true }))
}

async fn set_faults(State(world): State<Arc<World>>, Json(config): Json<FaultsConfig>) -> Json<FaultsConfig> {
    world.faults.lock().set(config.clone(), std::time::Instant::now());
    Json(config)
}

async fn get_faults(State(world): State<Arc<World>>) -> Json<FaultsConfig> {
    Json(world.faults.lock().config.clone())
}
