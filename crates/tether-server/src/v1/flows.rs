//! `/api/v1/flows`: flows with a draft (YAML kept byte for byte, its revision as the `ETag`) and
//! published versions. A draft with problems is saved and answered with its diagnostics; a
//! publish of one is refused with them (422). A draft can be discarded (back to the published
//! text) and run once against a sample. The list carries what the flows page shows of each flow's
//! runs and connections; a delete keeps the flow's history. `/api/v1/templates`: the shipped
//! recipes to start a flow from.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tether_service::flows::{
    DraftRun, DraftRunRequest, FlowDetail, FlowSummary, PublishResult, VersionDetail, VersionInfo,
    VersionRef,
};
use tether_service::templates::Template;
use tether_service::{Error, ErrorCode, Page};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::problem::{Problem, ProblemBody};

/// A flow's YAML sent as JSON (the alternative to an `application/yaml` body).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct FlowText {
    /// The flow's YAML, exactly as it is to be kept.
    yaml: String,
}

/// What to publish with.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct PublishRequest {
    /// What changed, for the version list.
    #[serde(default)]
    message: String,
}

/// Pagination of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    limit: Option<usize>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// Page types as they appear in the document.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "only describes the answer in the OpenAPI document"
)]
pub(crate) struct FlowPage {
    /// The flows, by id.
    items: Vec<FlowSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// Page types as they appear in the document.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "only describes the answer in the OpenAPI document"
)]
pub(crate) struct VersionPage {
    /// The versions, newest first.
    items: Vec<VersionInfo>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// The YAML of a request: the body itself for `application/yaml`, `text/yaml` (or `text/plain`),
/// the `yaml` field for `application/json`.
fn yaml_body(headers: &HeaderMap, body: &Bytes) -> Result<String, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" | "text/plain" => {
            String::from_utf8(body.to_vec())
                .map_err(|error| Problem::invalid(format!("the body is not UTF-8: {error}")))
        }
        "application/json" => serde_json::from_slice::<FlowText>(body)
            .map(|text| text.yaml)
            .map_err(|error| {
                Problem::invalid(format!(
                    "the JSON body must be {{\"yaml\": \"...\"}}: {error}"
                ))
            }),
        "" => Err(Problem::invalid(
            "Content-Type is missing; send application/yaml, text/yaml or application/json",
        )),
        other => Err(Problem::invalid(format!(
            "Content-Type {other} is not accepted; send application/yaml, text/yaml or \
             application/json"
        ))),
    }
}

/// A flow with its draft revision as the `ETag`.
fn with_etag(status: StatusCode, flow: FlowDetail) -> Response {
    let etag = format!("\"{}\"", flow.draft.revision);
    let mut response = (status, Json(flow)).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The revision `If-Match` names: `"3"` (or `W/"3"`, or a bare `3`).
fn if_match(headers: &HeaderMap) -> Result<i64, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(Problem(Error::new(
            ErrorCode::Invalid,
            "If-Match is required: send the ETag of the draft you edited (GET /flows/{id}), so \
             that a save never overwrites someone else's",
        )));
    };
    let text = value.to_str().unwrap_or("").trim();
    let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    bare.parse::<i64>().map_err(|_| {
        Problem::invalid(format!(
            "If-Match {text:?} is not an ETag this API gave out (a quoted revision such as \"3\")"
        ))
    })
}

/// List flows, by id, each with its trigger, last run, runs of the last 24 hours (ok and
/// failed), open dead letters and the connections it names that are not usable.
#[utoipa::path(
    get,
    path = "/flows",
    tag = "flows",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of flows", body = FlowPage),
        (status = 400, description = "A bad limit or cursor", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list_flows(
    State(state): State<ApiState>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<FlowSummary>>, Problem> {
    let Query(query) = query?;
    Ok(Json(
        state
            .service
            .list_flows(query.limit, query.cursor.as_deref())
            .await?,
    ))
}

/// Create a flow from its YAML (the `id` is the YAML's). The YAML becomes the flow's draft, saved
/// even with problems; the answer lists them as `draft.diagnostics`. Nothing is published yet.
#[utoipa::path(
    post,
    path = "/flows",
    tag = "flows",
    request_body(
        description = "The flow's YAML as the body, or `{\"yaml\": \"...\"}`",
        content(
            (String = "application/yaml"),
            (String = "text/yaml"),
            (FlowText = "application/json"),
        ),
    ),
    responses(
        (status = 201, description = "Created; `ETag` is the draft's revision", body = FlowDetail,
         headers(("ETag" = String, description = "The draft's revision"))),
        (status = 400, description = "Not UTF-8, or an unknown content type", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "A flow with that id exists", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The YAML has no `id`; nothing saved", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn create_flow(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let yaml = yaml_body(&headers, &body)?;
    let flow = state.service.create_flow(&yaml).await?;
    Ok(with_etag(StatusCode::CREATED, flow))
}

/// A flow: its draft with diagnostics, its published version and whether it is enabled.
#[utoipa::path(
    get,
    path = "/flows/{id}",
    tag = "flows",
    params(("id" = String, Path, description = "The flow's id")),
    responses(
        (status = 200, description = "The flow; `ETag` is the draft's revision", body = FlowDetail,
         headers(("ETag" = String, description = "The draft's revision"))),
        (status = 404, description = "No such flow", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn get_flow(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let flow = state.service.flow(&id).await?;
    Ok(with_etag(StatusCode::OK, flow))
}

/// Save a flow's draft. `If-Match` must carry the `ETag` the edit started from; a stale one is
/// refused (412) and nothing is saved.
#[utoipa::path(
    put,
    path = "/flows/{id}/draft",
    tag = "flows",
    params(
        ("id" = String, Path, description = "The flow's id"),
        ("If-Match" = String, Header, description = "The draft's `ETag` as read"),
    ),
    request_body(
        description = "The flow's YAML as the body, or `{\"yaml\": \"...\"}`",
        content(
            (String = "application/yaml"),
            (String = "text/yaml"),
            (FlowText = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "Saved; `ETag` is the new revision", body = FlowDetail,
         headers(("ETag" = String, description = "The draft's revision"))),
        (status = 400, description = "No or malformed `If-Match`, or the YAML's id is another flow's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such flow", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "The draft changed since it was read", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The YAML has no `id`", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn save_draft(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let revision = if_match(&headers)?;
    let yaml = yaml_body(&headers, &body)?;
    let flow = state.service.save_flow_draft(&id, &yaml, revision).await?;
    Ok(with_etag(StatusCode::OK, flow))
}

/// Discard a flow's draft: it becomes the published YAML again, as a new revision. With
/// `If-Match`, a draft saved since that revision is refused (412).
#[utoipa::path(
    delete,
    path = "/flows/{id}/draft",
    tag = "flows",
    params(
        ("id" = String, Path, description = "The flow's id"),
        ("If-Match" = Option<String>, Header, description = "The draft's `ETag` as read"),
    ),
    responses(
        (status = 200, description = "The flow with its draft back at the published YAML; `ETag` is the new revision", body = FlowDetail,
         headers(("ETag" = String, description = "The draft's revision"))),
        (status = 400, description = "A malformed `If-Match`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such flow", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Never published: nothing to go back to", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "The draft changed since it was read", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn discard_draft(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let revision = if headers.contains_key(header::IF_MATCH) {
        Some(if_match(&headers)?)
    } else {
        None
    };
    let flow = state.service.discard_flow_draft(&id, revision).await?;
    Ok(with_etag(StatusCode::OK, flow))
}

/// Run a flow's draft once against a sample: its steps in order, each seeing the outputs before
/// it; lookups run, actions write only with `confirmWrite`. Nothing is stored. The answer names
/// the draft revision that ran.
#[utoipa::path(
    post,
    path = "/flows/{id}/test-run",
    tag = "flows",
    params(("id" = String, Path, description = "The flow's id")),
    request_body(content = DraftRunRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What each step reached did", body = DraftRun),
        (status = 400, description = "A bad body", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such flow or sample", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "The draft is no longer at `revision`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The draft has problems, all in `diagnostics`", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn test_run(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Result<Json<DraftRunRequest>, JsonRejection>,
) -> Result<Json<DraftRun>, Problem> {
    let Json(request) = body?;
    Ok(Json(state.service.run_draft_once(&id, &request).await?))
}

/// Publish a flow's draft as its new current version: new events run it, runs enqueued before
/// finish on the version they started with. A draft equal to the current version adds none.
#[utoipa::path(
    post,
    path = "/flows/{id}/publish",
    tag = "flows",
    params(("id" = String, Path, description = "The flow's id")),
    request_body(content = PublishRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Published (or unchanged: `created` is false)", body = PublishResult),
        (status = 404, description = "No such flow", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The draft has problems, all in `diagnostics`", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn publish(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Result<Json<PublishRequest>, JsonRejection>,
) -> Result<Json<PublishResult>, Problem> {
    let request = match body {
        Ok(Json(request)) => request,
        // No body at all publishes without a message.
        Err(JsonRejection::MissingJsonContentType(_)) => PublishRequest::default(),
        Err(rejection) => {
            return Err(Problem::invalid(format!(
                "bad body: {}",
                rejection.body_text()
            )));
        }
    };
    Ok(Json(
        state.service.publish_flow(&id, &request.message).await?,
    ))
}

/// A flow's published versions, newest first.
#[utoipa::path(
    get,
    path = "/flows/{id}/versions",
    tag = "flows",
    params(("id" = String, Path, description = "The flow's id"), PageQuery),
    responses(
        (status = 200, description = "A page of versions", body = VersionPage),
        (status = 404, description = "No such flow", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list_versions(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<VersionInfo>>, Problem> {
    let Query(query) = query?;
    Ok(Json(
        state
            .service
            .flow_versions(&id, query.limit, query.cursor.as_deref())
            .await?,
    ))
}

/// One published version with its YAML, by number (`2`, `v2`) or content hash (16 hex digits).
#[utoipa::path(
    get,
    path = "/flows/{id}/versions/{version}",
    tag = "flows",
    params(
        ("id" = String, Path, description = "The flow's id"),
        ("version" = String, Path, description = "`2`, `v2`, or the 16-hex content hash"),
    ),
    responses(
        (status = 200, description = "The version", body = VersionDetail),
        (status = 400, description = "Not a version number or hash", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such flow or version", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn get_version(
    State(state): State<ApiState>,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<VersionDetail>, Problem> {
    let version: VersionRef = version.parse()?;
    Ok(Json(state.service.flow_version(&id, &version).await?))
}

/// Enable a flow: its current version starts runs again.
#[utoipa::path(
    post,
    path = "/flows/{id}/enable",
    tag = "flows",
    params(("id" = String, Path, description = "The flow's id")),
    responses(
        (status = 200, description = "Enabled", body = FlowSummary),
        (status = 404, description = "No such flow", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn enable(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<FlowSummary>, Problem> {
    Ok(Json(state.service.set_flow_enabled(&id, true).await?))
}

/// Disable a flow: it starts no runs (webhooks, polls, schedules); runs already enqueued finish.
#[utoipa::path(
    post,
    path = "/flows/{id}/disable",
    tag = "flows",
    params(("id" = String, Path, description = "The flow's id")),
    responses(
        (status = 200, description = "Disabled", body = FlowSummary),
        (status = 404, description = "No such flow", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn disable(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<FlowSummary>, Problem> {
    Ok(Json(state.service.set_flow_enabled(&id, false).await?))
}

/// Delete a flow: it starts no runs from now on and leaves the list. Not refused while runs are
/// queued or retrying: those finish on the version they started with. Its runs, dead letters and
/// published versions stay as history, and a new flow may take its id again.
#[utoipa::path(
    delete,
    path = "/flows/{id}",
    tag = "flows",
    params(("id" = String, Path, description = "The flow's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such flow", body = ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn delete_flow(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.service.delete_flow(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The shipped recipes (seed flows) to start a new flow from, by id, each with its YAML.
#[utoipa::path(
    get,
    path = "/templates",
    tag = "flows",
    responses((status = 200, description = "Every template", body = Vec<Template>)),
)]
pub(crate) async fn list_templates() -> Json<Vec<Template>> {
    Json(tether_service::templates::templates())
}
