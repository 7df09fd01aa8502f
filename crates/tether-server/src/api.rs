//! The REST API's first routes: `GET /healthz` (is the store reachable) and `GET /api/runs`
//! (recent runs with their journals, what `tether runs` shows).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tether_store::{RunSummary, Store};

use crate::error::{ApiError, chain};

/// Runs answered when the request names no `limit`.
pub const DEFAULT_RUNS_LIMIT: usize = 20;

/// The largest `limit` accepted, so one request cannot read the whole table.
pub const MAX_RUNS_LIMIT: usize = 1_000;

pub(crate) fn routes(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/runs", get(runs))
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunsQuery {
    limit: Option<usize>,
}

async fn runs(
    State(store): State<Store>,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_RUNS_LIMIT);
    if limit == 0 || limit > MAX_RUNS_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_RUNS_LIMIT}, got {limit}"
        )));
    }
    let summaries = store
        .runs_recent(limit)
        .await
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    Ok(Json(json!({
        "runs": summaries.iter().map(run_json).collect::<Vec<_>>(),
    })))
}

/// One run as the API shows it (the store's types stay free of a wire format).
fn run_json(summary: &RunSummary) -> Value {
    let run = &summary.run;
    json!({
        "id": run.id,
        "flowId": run.flow_id,
        "flowVersion": tether_service::Service::version_label(run.flow_version),
        "eventId": run.event_id,
        "replayOf": run.replay_of,
        "status": run.status.as_str(),
        "attempts": run.attempts,
        "nextAttemptAtMs": run.next_attempt_at_ms,
        "leaseOwner": run.lease_owner,
        "leaseExpiresAtMs": run.lease_expires_at_ms,
        "lastError": run.last_error,
        "createdAtMs": run.created_at_ms,
        "updatedAtMs": run.updated_at_ms,
        "steps": summary.steps.iter().map(|step| json!({
            "stepId": step.step_id,
            "attempt": step.attempt,
            "status": step.status.as_str(),
            "output": step.output,
            "recordedAtMs": step.recorded_at_ms,
        })).collect::<Vec<_>>(),
    })
}
