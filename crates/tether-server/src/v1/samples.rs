//! Samples and tests for building flows: fetch a poll trigger's newest records, capture the next
//! webhook, keep a run's trigger event, list a flow's samples, preview an expression and test a
//! step. The rules live in [`tether_service::samples`]; these handlers decode and encode.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tether_service::Page;
use tether_service::samples::{
    CaptureView, DEFAULT_FETCH_LIMIT, FlowRef, PreviewRequest, PreviewResult, SampleView, StepTest,
    TestStepRequest,
};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::problem::Problem;

/// The longest `GET /flows/samples/capture/{id}` waits for the event.
pub const MAX_CAPTURE_WAIT_SECS: u64 = 30;

/// What to fetch samples of.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FetchRequest {
    /// The flow's YAML text (give this or `flowId`).
    #[serde(default)]
    yaml: Option<String>,
    /// The id of a flow the server runs (give this or `yaml`).
    #[serde(default)]
    flow_id: Option<String>,
    /// How many records to keep, newest first (1 to 50, default 5).
    #[serde(default)]
    limit: Option<usize>,
}

/// Samples just taken, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Samples {
    /// The samples.
    items: Vec<SampleView>,
}

/// What to capture a webhook for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CaptureRequest {
    /// The flow's YAML text (give this or `flowId`).
    #[serde(default)]
    yaml: Option<String>,
    /// The id of a flow the server runs (give this or `yaml`).
    #[serde(default)]
    flow_id: Option<String>,
    /// How long the capture waits for its event, in seconds (1 to 3600, default 600).
    #[serde(default)]
    expires_in_secs: Option<u64>,
}

/// How long to wait for a capture's event.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CaptureWait {
    /// Wait up to this many seconds (0 to 30, default 0) while no event has arrived.
    #[serde(default)]
    wait_secs: Option<u64>,
}

/// A page of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Items per page (1 to 200, default 50).
    #[serde(default)]
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

/// Fetches the newest records of a flow's poll trigger as samples, without moving its cursor.
#[utoipa::path(
    post,
    path = "/flows/samples/fetch",
    tag = "samples",
    request_body = FetchRequest,
    responses(
        (status = 201, description = "The samples taken, newest first", body = Samples),
        (status = 400, description = "Not a poll flow, or a bad field", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The flow has problems, or its operation refused", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The app is unreachable", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn fetch(
    State(state): State<ApiState>,
    body: Result<Json<FetchRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Samples>), Problem> {
    let Json(request) = body?;
    let flow = FlowRef::from_fields(request.yaml, request.flow_id)?;
    let items = state
        .service
        .fetch_samples(&flow, request.limit.unwrap_or(DEFAULT_FETCH_LIMIT))
        .await?;
    Ok((StatusCode::CREATED, Json(Samples { items })))
}

/// Starts capturing the next webhook event of a flow's trigger as a sample.
#[utoipa::path(
    post,
    path = "/flows/samples/capture",
    tag = "samples",
    request_body = CaptureRequest,
    responses(
        (status = 201, description = "The capture, waiting", body = CaptureView),
        (status = 400, description = "Not a webhook flow, or a bad field", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The flow has problems", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn start_capture(
    State(state): State<ApiState>,
    body: Result<Json<CaptureRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<CaptureView>), Problem> {
    let Json(request) = body?;
    let flow = FlowRef::from_fields(request.yaml, request.flow_id)?;
    let capture = state
        .service
        .start_capture(&flow, request.expires_in_secs.map(Duration::from_secs))
        .await?;
    Ok((StatusCode::CREATED, Json(capture)))
}

/// A capture: waiting, captured (with its sample) or expired; `waitSecs` waits for the event.
#[utoipa::path(
    get,
    path = "/flows/samples/capture/{id}",
    tag = "samples",
    params(("id" = i64, Path, description = "The capture's id"), CaptureWait),
    responses(
        (status = 200, description = "The capture", body = CaptureView),
        (status = 404, description = "No such capture", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn capture(
    State(state): State<ApiState>,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<CaptureWait>, QueryRejection>,
) -> Result<Json<CaptureView>, Problem> {
    let Path(id) = id?;
    let Query(query) = query?;
    let wait = query.wait_secs.unwrap_or(0);
    if wait > MAX_CAPTURE_WAIT_SECS {
        return Err(Problem::invalid(format!(
            "waitSecs: {wait} is too long; give 0 to {MAX_CAPTURE_WAIT_SECS}"
        )));
    }
    Ok(Json(
        state
            .service
            .wait_capture(id, Duration::from_secs(wait))
            .await?,
    ))
}

/// Keeps a run's trigger event as a sample of its flow.
#[utoipa::path(
    post,
    path = "/runs/{id}/sample",
    tag = "samples",
    params(("id" = i64, Path, description = "The run's id")),
    responses(
        (status = 201, description = "The sample", body = SampleView),
        (status = 404, description = "No such run", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn from_run(
    State(state): State<ApiState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<(StatusCode, Json<SampleView>), Problem> {
    let Path(id) = id?;
    let sample = state.service.sample_from_run(id).await?;
    Ok((StatusCode::CREATED, Json(sample)))
}

/// A flow's samples, newest first.
#[utoipa::path(
    get,
    path = "/flows/{id}/samples",
    // `list` alone is the connections' list too; generated clients need distinct ids.
    operation_id = "list_flow_samples",
    tag = "samples",
    params(("id" = String, Path, description = "The flow's id"), PageQuery),
    responses(
        (status = 200, description = "A page of samples", body = Page<SampleView>),
        (status = 400, description = "A bad limit or cursor", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    Path(flow_id): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<SampleView>>, Problem> {
    let Query(query) = query?;
    let page = state
        .service
        .flow_samples(&flow_id, query.limit.unwrap_or(50), query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}

/// Evaluates an expression (or every string of a value) against a sample: the typed value, or
/// every problem with its path, line and column (422).
#[utoipa::path(
    post,
    path = "/preview",
    tag = "samples",
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The value", body = PreviewResult),
        (status = 400, description = "A bad request", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The expression cannot be evaluated", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn preview(
    State(state): State<ApiState>,
    body: Result<Json<PreviewRequest>, JsonRejection>,
) -> Result<Json<PreviewResult>, Problem> {
    let Json(request) = body?;
    Ok(Json(state.service.preview(&request).await?))
}

/// Tests one step against a sample: renders its input, and runs a lookup on `execute`, an action
/// only on `execute` with `confirmWrite` (else a warning, and nothing is written).
#[utoipa::path(
    post,
    path = "/flows/test-step",
    tag = "samples",
    request_body = TestStepRequest,
    responses(
        (status = 200, description = "What the step did", body = StepTest),
        (status = 404, description = "No such flow or step", body = super::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The flow has problems, or the step cannot be rendered", body = super::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn test_step(
    State(state): State<ApiState>,
    body: Result<Json<TestStepRequest>, JsonRejection>,
) -> Result<Json<StepTest>, Problem> {
    let Json(request) = body?;
    Ok(Json(state.service.test_step(&request).await?))
}
