//! Runs and dead letters: search, detail, whole payloads, retry, replay (one, or many by
//! filter), resolve, and live run events (server-sent events). The rules are the service's
//! ([`tether_service::runs`]); these handlers decode, call and encode.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use serde_json::Value;
use tether_service::Page;
use tether_service::runs::{
    BulkReplayAnswer, BulkReplayRequest, DeadLetterQuery, DeadLetterView, PayloadPart,
    ReplayAnswer, ReplayRequest, ResolveRequest, RunChange, RunDetail, RunQuery, RunSummary,
};
use utoipa::{IntoParams, ToSchema};

use super::{ApiState, Problem};

/// How often live run events read the store.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// How long one event stream lasts before the client reconnects (browsers do so by themselves,
/// resuming after the `Last-Event-ID` they saw), so a server shutting down never waits longer.
const STREAM_FOR: Duration = Duration::from_secs(30);

/// `GET /runs`'s parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct RunsParams {
    /// Runs of this flow (its id).
    flow: Option<String>,
    /// `queued`, `running`, `retry`, `done` or `dead`.
    status: Option<String>,
    /// Created at or after (RFC 3339).
    since: Option<String>,
    /// Created before (RFC 3339).
    until: Option<String>,
    /// A record the run touched: a record id or an e-mail address.
    record: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /dead-letters`'s parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct DeadLettersParams {
    /// Of this flow.
    flow: Option<String>,
    /// Dead-lettered at or after (RFC 3339).
    since: Option<String>,
    /// Dead-lettered before (RFC 3339).
    until: Option<String>,
    /// Whose reason contains this text.
    reason: Option<String>,
    /// `open`, `replayed` or `resolved`.
    state: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /runs/{id}/steps/{row}/payload`'s parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PayloadParams {
    /// `input` or `output`.
    part: PayloadPart,
}

/// A page of runs (`{items, nextCursor}`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "documents the page's shape in the OpenAPI document"
)]
pub(crate) struct RunPage {
    /// Newest first.
    items: Vec<RunSummary>,
    /// Absent on the last page.
    next_cursor: Option<String>,
}

/// A page of dead letters (`{items, nextCursor}`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "documents the page's shape in the OpenAPI document"
)]
pub(crate) struct DeadLetterPage {
    /// Newest first.
    items: Vec<DeadLetterView>,
    /// Absent on the last page.
    next_cursor: Option<String>,
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(value) => {
            let key = value.to_str().map_err(|_| {
                Problem::invalid("Idempotency-Key: the header must be printable ASCII")
            })?;
            if key.is_empty() || key.len() > 255 {
                return Err(Problem::invalid(
                    "Idempotency-Key: the header must be 1 to 255 characters",
                ));
            }
            Ok(Some(key.to_owned()))
        }
    }
}

/// Runs matching the filters, newest first.
#[utoipa::path(
    get,
    path = "/runs",
    tag = "runs",
    params(RunsParams),
    responses(
        (status = 200, description = "A page of runs", body = RunPage),
        (status = 400, description = "A parameter is invalid (named in `detail`)", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list_runs(
    State(state): State<ApiState>,
    params: Result<Query<RunsParams>, QueryRejection>,
) -> Result<Json<Page<RunSummary>>, Problem> {
    let Query(params) = params?;
    let filter = RunQuery {
        flow: params.flow,
        status: params.status,
        since: params.since,
        until: params.until,
        record: params.record,
    };
    Ok(Json(
        state
            .service
            .runs(&filter, params.limit, params.cursor.as_deref())
            .await?,
    ))
}

/// One run: its event, every attempt of every step with input and output, the links it wrote
/// and its dead letter. Payloads above 64 KiB are cut and flagged (`truncated`).
#[utoipa::path(
    get,
    path = "/runs/{id}",
    tag = "runs",
    params(("id" = i64, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run", body = RunDetail),
        (status = 404, description = "No such run", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn get_run(
    State(state): State<ApiState>,
    Path(id): Path<i64>,
) -> Result<Json<RunDetail>, Problem> {
    Ok(Json(state.service.run_detail(id).await?))
}

/// One journal row's input or output, whole (redacted).
#[utoipa::path(
    get,
    path = "/runs/{id}/steps/{row}/payload",
    tag = "runs",
    params(
        ("id" = i64, Path, description = "The run's id"),
        ("row" = i64, Path, description = "The journal row (`steps[].row`)"),
        PayloadParams,
    ),
    responses(
        (status = 200, description = "The payload", body = Value),
        (status = 404, description = "No such run, row or part", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn step_payload(
    State(state): State<ApiState>,
    Path((id, row)): Path<(i64, i64)>,
    params: Result<Query<PayloadParams>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(params) = params?;
    Ok(Json(
        state.service.step_payload(id, row, params.part).await?,
    ))
}

/// A run's trigger event, whole (redacted); the run's detail cuts it above 64 KiB.
#[utoipa::path(
    get,
    path = "/runs/{id}/event",
    tag = "runs",
    params(("id" = i64, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The event's payload", body = Value),
        (status = 404, description = "No such run", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn event_payload(
    State(state): State<ApiState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(state.service.event_payload(id).await?))
}

/// Retries a run: a dead one is replayed as its dead letter; one waiting for its next attempt
/// is made due now (only `from: failed_step`, `version: ran`).
#[utoipa::path(
    post,
    path = "/runs/{id}/retry",
    tag = "runs",
    params(
        ("id" = i64, Path, description = "The run's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "The same key again answers the same run"),
    ),
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "Queued", body = ReplayAnswer),
        (status = 400, description = "The body is invalid", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Not retryable now (why in `detail`)", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn retry_run(
    State(state): State<ApiState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    request: Result<Json<ReplayRequest>, JsonRejection>,
) -> Result<Json<ReplayAnswer>, Problem> {
    let Json(request) = request?;
    let key = idempotency_key(&headers)?;
    Ok(Json(
        state
            .service
            .retry_run(id, &request, key.as_deref())
            .await?,
    ))
}

/// Dead letters matching the filters, newest first.
#[utoipa::path(
    get,
    path = "/dead-letters",
    tag = "dead-letters",
    params(DeadLettersParams),
    responses(
        (status = 200, description = "A page of dead letters", body = DeadLetterPage),
        (status = 400, description = "A parameter is invalid", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list_dead_letters(
    State(state): State<ApiState>,
    params: Result<Query<DeadLettersParams>, QueryRejection>,
) -> Result<Json<Page<DeadLetterView>>, Problem> {
    let Query(params) = params?;
    let filter = DeadLetterQuery {
        flow: params.flow,
        since: params.since,
        until: params.until,
        reason: params.reason,
        state: params.state,
    };
    Ok(Json(
        state
            .service
            .dead_letters(&filter, params.limit, params.cursor.as_deref())
            .await?,
    ))
}

/// Replays a dead letter as a new run. A dead letter is replayed once: another replay is
/// refused (409) naming the earlier run; the same `Idempotency-Key` again answers that run.
#[utoipa::path(
    post,
    path = "/dead-letters/{id}/replay",
    tag = "dead-letters",
    params(
        ("id" = i64, Path, description = "The dead letter's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "The same key again answers the same run"),
    ),
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "Queued (or, for a repeated key, queued before)", body = ReplayAnswer),
        (status = 400, description = "The body is invalid", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such dead letter", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Replayed or resolved before, or the version is not loaded", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn replay_dead_letter(
    State(state): State<ApiState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    request: Result<Json<ReplayRequest>, JsonRejection>,
) -> Result<Json<ReplayAnswer>, Problem> {
    let Json(request) = request?;
    let key = idempotency_key(&headers)?;
    Ok(Json(
        state
            .service
            .replay_dead_letter(id, &request, key.as_deref())
            .await?,
    ))
}

/// Replays every open dead letter matching the filter; answers how many were queued and which
/// were skipped, and why.
#[utoipa::path(
    post,
    path = "/dead-letters/replay",
    tag = "dead-letters",
    request_body = BulkReplayRequest,
    responses(
        (status = 200, description = "What was queued and skipped", body = BulkReplayAnswer),
        (status = 400, description = "The body is invalid", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn replay_dead_letters(
    State(state): State<ApiState>,
    request: Result<Json<BulkReplayRequest>, JsonRejection>,
) -> Result<Json<BulkReplayAnswer>, Problem> {
    let Json(request) = request?;
    Ok(Json(state.service.replay_dead_letters(&request).await?))
}

/// Resolves (dismisses) a dead letter with a note.
#[utoipa::path(
    post,
    path = "/dead-letters/{id}/resolve",
    tag = "dead-letters",
    params(("id" = i64, Path, description = "The dead letter's id")),
    request_body = ResolveRequest,
    responses(
        (status = 200, description = "Resolved", body = DeadLetterView),
        (status = 404, description = "No such dead letter", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Replayed or resolved before", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn resolve_dead_letter(
    State(state): State<ApiState>,
    Path(id): Path<i64>,
    request: Result<Json<ResolveRequest>, JsonRejection>,
) -> Result<Json<DeadLetterView>, Problem> {
    let Json(request) = request?;
    Ok(Json(
        state.service.resolve_dead_letter(id, &request.note).await?,
    ))
}

/// Live run events: a server-sent event `run` (data: the run as listed) each time a run
/// changes, in any process sharing the store; a keep-alive comment every 15 s. A stream lasts
/// 30 s; reconnecting with `Last-Event-ID` resumes after the last event seen.
#[utoipa::path(
    get,
    path = "/runs/events",
    tag = "runs",
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses(
        (status = 200, description = "A stream of `run` events", content_type = "text/event-stream", body = String),
    ),
)]
pub(crate) async fn run_events(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let resume = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok());
    let watch = state.service.watch_runs_after(resume);
    let until = tokio::time::Instant::now() + STREAM_FOR;
    let stream = futures::stream::unfold(
        (watch, VecDeque::new()),
        move |(mut watch, mut pending)| async move {
            loop {
                if let Some(change) = pending.pop_front() {
                    let RunChange { position, run } = change;
                    let event = Event::default()
                        .event("run")
                        .id(position)
                        .json_data(&run)
                        .unwrap_or_else(|_| Event::default().comment("unencodable run"));
                    return Some((Ok(event), (watch, pending)));
                }
                if tokio::time::Instant::now() >= until {
                    return None;
                }
                tokio::time::sleep(WATCH_EVERY).await;
                match watch.poll().await {
                    Ok(changes) => pending.extend(changes),
                    Err(error) => {
                        tracing::warn!(error = %error, "Live run events cannot read the store.");
                    }
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
