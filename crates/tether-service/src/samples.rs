//! Samples and tests for building flows: real records to build against, kept apart from run
//! history, and what a step would do with them.
//!
//! - [`Service::fetch_samples`] reads the newest records of a poll trigger through its operation,
//!   without moving the flow's cursor or enqueuing anything;
//! - [`Service::start_capture`] and [`Service::capture`] take the next webhook event of a flow's
//!   kinds, stored by the ordinary webhook intake, as a sample;
//! - [`Service::sample_from_run`] keeps a past run's trigger event;
//! - [`Service::preview`] evaluates an expression (or a whole input object) with the engine's
//!   expression code against a sample, answering the typed value or every problem with where it
//!   is;
//! - [`Service::test_step`] renders one step's input and, when asked, runs it: a lookup on
//!   `execute`, an action (a write) only on `execute` and `confirm_write`.
//!
//! A flow is named by its YAML text (a draft) or by the id of a flow the service runs
//! ([`FlowRef`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_engine::expr::{self, Context};
use tether_engine::flow::{self, Flow, PollSource, StepKind, TriggerSpec};
use tether_store::samples::TRIGGER_STEP;
use tether_store::{Capture, CaptureId, RunId, Sample, SampleId, SampleSource};
use utoipa::ToSchema;

use crate::error::Result;
use crate::{Diagnostic, Error, ErrorCode, Page, Service};

/// Samples fetched when the request does not say how many.
pub const DEFAULT_FETCH_LIMIT: usize = 5;
/// The most samples one fetch keeps.
pub const MAX_FETCH_LIMIT: usize = 50;
/// Records asked for per call while looking for the newest ones.
const SCAN_PAGE: usize = 100;
/// Pages read at most while looking for the newest records: a fetch reads at most
/// `SCAN_PAGE × SCAN_PAGES` records, and for a larger source keeps the newest of those.
const SCAN_PAGES: usize = 10;
/// How long a capture waits for its webhook when the request does not say.
pub const DEFAULT_CAPTURE_SECS: u64 = 600;
/// The longest a capture may wait.
pub const MAX_CAPTURE_SECS: u64 = 3600;
/// How often [`Service::wait_capture`] looks for the event.
const CAPTURE_POLL: Duration = Duration::from_millis(100);

/// A flow a request is about.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowRef {
    /// A flow's YAML (or JSON) text, e.g. an unsaved draft.
    Yaml(String),
    /// The id of a flow the service runs.
    Id(String),
}

impl FlowRef {
    /// The flow named by a request's `yaml` and `flowId` fields: exactly one must be given.
    pub fn from_fields(yaml: Option<String>, flow_id: Option<String>) -> Result<Self> {
        match (yaml, flow_id) {
            (Some(yaml), None) => Ok(FlowRef::Yaml(yaml)),
            (None, Some(id)) => Ok(FlowRef::Id(id)),
            (Some(_), Some(_)) => Err(Error::invalid("give either `yaml` or `flowId`, not both")),
            (None, None) => Err(Error::invalid(
                "the flow is missing: give `yaml` (the flow's text) or `flowId`",
            )),
        }
    }
}

/// A sample: a record to build a flow against.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SampleView {
    /// Its id.
    pub id: i64,
    /// The flow it is a sample of.
    pub flow_id: String,
    /// `trigger` for a trigger record, else the step whose output it stands for.
    pub step_id: String,
    /// Where it came from: `poll`, `webhook` or `run`.
    pub source: String,
    /// The record.
    pub record: Value,
    /// When it was taken (RFC 3339).
    pub taken_at: String,
}

impl From<Sample> for SampleView {
    fn from(sample: Sample) -> Self {
        SampleView {
            id: sample.id.0,
            flow_id: sample.flow_id,
            step_id: sample.step_id,
            source: sample.source.as_str().to_owned(),
            record: sample.record,
            taken_at: time_text(sample.taken_at_ms),
        }
    }
}

/// Where a webhook capture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureStatus {
    /// No matching event yet.
    Waiting,
    /// The event is the capture's sample.
    Captured,
    /// It ended with no matching event.
    Expired,
}

/// A webhook capture.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaptureView {
    /// Its id (`GET /flows/samples/capture/{id}`).
    pub id: i64,
    /// The flow it captures for.
    pub flow_id: String,
    /// Where it is.
    pub status: CaptureStatus,
    /// The events' source (`ghl.webhook`).
    pub event_source: String,
    /// The event kinds that count.
    pub kinds: Vec<String>,
    /// Events received from this time on count (RFC 3339).
    pub since: String,
    /// Events received from this time on do not (RFC 3339).
    pub expires_at: String,
    /// The sample, once captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleView>,
}

/// What to preview: one expression or a whole value, against a sample.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewRequest {
    /// One string: a literal, `{{ … }}` (a typed value) or a template (a string).
    #[serde(default)]
    pub expression: Option<String>,
    /// A whole value (an action's `input`, a map's `fields`), every string in it evaluated.
    #[serde(default)]
    pub value: Option<Value>,
    /// The trigger record (`trigger` in expressions).
    #[serde(default)]
    pub sample: Option<Value>,
    /// A stored sample to use as the trigger record instead of `sample`.
    #[serde(default)]
    pub sample_id: Option<i64>,
    /// Earlier steps' outputs by step id (`steps.<id>.output`).
    #[serde(default)]
    pub steps: BTreeMap<String, Value>,
}

/// What a preview gave.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewResult {
    /// The typed value.
    pub value: Value,
}

/// One step to test against a sample.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestStepRequest {
    /// The flow's YAML text (give this or `flowId`).
    #[serde(default)]
    pub yaml: Option<String>,
    /// The id of a flow the service runs (give this or `yaml`).
    #[serde(default)]
    pub flow_id: Option<String>,
    /// The step to test.
    pub step_id: String,
    /// The trigger record (`trigger` in expressions).
    #[serde(default)]
    pub sample: Option<Value>,
    /// A stored sample to use as the trigger record instead of `sample`.
    #[serde(default)]
    pub sample_id: Option<i64>,
    /// Earlier steps' outputs by step id (`steps.<id>.output`).
    #[serde(default)]
    pub steps: BTreeMap<String, Value>,
    /// Run the step's operation (a lookup, or an action with `confirmWrite`); by default only
    /// its input is rendered.
    #[serde(default)]
    pub execute: bool,
    /// Confirms that an action may write to its app.
    #[serde(default)]
    pub confirm_write: bool,
}

/// What testing a step did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepTest {
    /// The step.
    pub step_id: String,
    /// Its kind: `filter`, `map`, `lookup` or `action`.
    pub kind: String,
    /// The operation's rendered input (lookups and actions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// The step's output: a filter's `{passed}`, a map's record, the operation's answer when it
    /// ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Whether the operation was called.
    pub executed: bool,
    /// Why the operation failed, when it ran and failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why an action was not run (it writes, and the write was not confirmed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Service {
    /// The flow `flow` names: its YAML checked against the catalog (every problem reported
    /// with its place); for a flow id, the stored flow's draft when it loads (what a person is
    /// building), else its published version, else the version this process runs.
    pub async fn resolve_flow(&self, flow: &FlowRef) -> Result<Arc<Flow>> {
        match flow {
            FlowRef::Yaml(text) => {
                flow::parse_flow(text, Path::new("flow.yaml"), Some(self.catalog()))
                    .map(Arc::new)
                    .map_err(|errors| {
                        Error::unprocessable(
                            format!("the flow has {} problem(s)", errors.problems.len()),
                            errors.problems.iter().map(Diagnostic::from).collect(),
                        )
                    })
            }
            FlowRef::Id(id) => {
                if let Some(stored) = self.store().flow(id).await? {
                    let texts = std::iter::once(stored.draft_yaml.as_str())
                        .chain(stored.current.iter().map(|version| version.yaml.as_str()));
                    for text in texts {
                        let path = Path::new(id.as_str());
                        if let Ok(flow) = flow::parse_flow(text, path, Some(self.catalog())) {
                            return Ok(Arc::new(flow));
                        }
                    }
                }
                self.flows()
                    .current()
                    .into_iter()
                    .map(|(_, flow)| flow)
                    .find(|flow| &flow.id == id)
                    .ok_or_else(|| Error::not_found(format!("flow {id:?}")))
            }
        }
    }

    /// Reads the newest records of `flow`'s poll trigger (up to `limit`, newest first) and keeps
    /// them as samples. The trigger's operation is called as the poller calls it, from the start,
    /// with a cursor of its own that is never stored, so the flow's next poll still sees every
    /// record; no event is stored and no run is enqueued.
    pub async fn fetch_samples(&self, flow: &FlowRef, limit: usize) -> Result<Vec<SampleView>> {
        if !(1..=MAX_FETCH_LIMIT).contains(&limit) {
            return Err(Error::invalid(format!(
                "limit: {limit} is out of range; give 1 to {MAX_FETCH_LIMIT}"
            )));
        }
        let flow = self.resolve_flow(flow).await?;
        let TriggerSpec::Poll {
            source,
            connection,
            with,
            ..
        } = &flow.trigger
        else {
            return Err(Error::invalid(format!(
                "flow {:?} is not triggered by a poll; capture a webhook or take a run's event",
                flow.id
            )));
        };
        let operation = match source {
            PollSource::Operation(name) => name.clone(),
            // As the poller does: a resource's change feed is its `updated` trigger.
            PollSource::Resource(name) => format!("{name}.updated"),
        };
        let mut newest: std::collections::VecDeque<Value> =
            std::collections::VecDeque::with_capacity(limit);
        let mut cursor = Value::Null;
        for _ in 0..SCAN_PAGES {
            let mut input = with.clone();
            input.insert("cursor".into(), cursor.clone());
            input.insert("limit".into(), Value::from(SCAN_PAGE));
            let output = self
                .ops()
                .invoke(connection, &operation, Value::Object(input))
                .await
                .map_err(|error| {
                    // A retry may help a throttled or unreachable app; anything else is the
                    // flow's setup (its connection, its `with:` parameters).
                    let code = if error.kind().is_retryable() {
                        ErrorCode::Unavailable
                    } else {
                        ErrorCode::Unprocessable
                    };
                    Error::new(
                        code,
                        format!("{operation} on {connection:?} failed: {}", error.message),
                    )
                })?;
            let records = output
                .get("records")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    Error::internal(format!("{operation} answered no `records` list"))
                })?;
            for record in records {
                if newest.len() == limit {
                    newest.pop_front();
                }
                newest.push_back(record.clone());
            }
            let next = output.get("cursor").cloned().unwrap_or(Value::Null);
            if records.len() < SCAN_PAGE || next.is_null() || next == cursor {
                break;
            }
            cursor = next;
        }
        // Stored oldest first, so the flow's samples list (newest first) keeps the source's order.
        let now = tether_store::now_ms();
        let mut samples = Vec::with_capacity(newest.len());
        for record in &newest {
            let sample = self
                .store()
                .add_sample(&flow.id, TRIGGER_STEP, SampleSource::Poll, record, now)
                .await?;
            samples.push(SampleView::from(sample));
        }
        samples.reverse();
        Ok(samples)
    }

    /// Starts capturing the next webhook event of `flow`'s trigger: the first event of its
    /// app's webhook source with one of its kinds stored from now on, within `expires_in`
    /// (default [`DEFAULT_CAPTURE_SECS`]), becomes a sample. Webhook intake is unchanged; the
    /// capture reads the events it stores.
    pub async fn start_capture(
        &self,
        flow: &FlowRef,
        expires_in: Option<Duration>,
    ) -> Result<CaptureView> {
        let expires_in = expires_in.unwrap_or(Duration::from_secs(DEFAULT_CAPTURE_SECS));
        if expires_in.is_zero() || expires_in > Duration::from_secs(MAX_CAPTURE_SECS) {
            return Err(Error::invalid(format!(
                "expiresInSecs: give 1 to {MAX_CAPTURE_SECS} seconds"
            )));
        }
        let flow = self.resolve_flow(flow).await?;
        let TriggerSpec::Webhook { app, events, .. } = &flow.trigger else {
            return Err(Error::invalid(format!(
                "flow {:?} is not triggered by a webhook; fetch samples from its poll instead",
                flow.id
            )));
        };
        let since = tether_store::now_ms();
        let expires =
            since.saturating_add(i64::try_from(expires_in.as_millis()).unwrap_or(i64::MAX));
        let capture = self
            .store()
            .start_capture(&flow.id, &format!("{app}.webhook"), events, since, expires)
            .await?;
        self.capture_view(capture).await
    }

    /// The capture `id` as it stands now: captured when a matching event has arrived since it
    /// started (taking it as the sample the first time), expired when its time is up.
    pub async fn capture(&self, id: i64) -> Result<CaptureView> {
        let mut capture = self.store().capture(CaptureId(id)).await?;
        if capture.sample_id.is_none() {
            let event = self
                .store()
                .first_event_after(
                    &capture.event_source,
                    &capture.kinds,
                    capture.since_ms,
                    capture.expires_at_ms,
                )
                .await?;
            if let Some(event) = event {
                capture = self
                    .store()
                    .finish_capture(capture.id, &event.payload, tether_store::now_ms())
                    .await?;
            }
        }
        self.capture_view(capture).await
    }

    /// [`Service::capture`], waiting up to `wait` for the event while the capture is waiting.
    pub async fn wait_capture(&self, id: i64, wait: Duration) -> Result<CaptureView> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let view = self.capture(id).await?;
            if view.status != CaptureStatus::Waiting || tokio::time::Instant::now() >= deadline {
                return Ok(view);
            }
            tokio::time::sleep(CAPTURE_POLL.min(deadline - tokio::time::Instant::now())).await;
        }
    }

    async fn capture_view(&self, capture: Capture) -> Result<CaptureView> {
        let sample = match capture.sample_id {
            Some(id) => Some(SampleView::from(self.store().sample(id).await?)),
            None => None,
        };
        let status = if sample.is_some() {
            CaptureStatus::Captured
        } else if tether_store::now_ms() >= capture.expires_at_ms {
            CaptureStatus::Expired
        } else {
            CaptureStatus::Waiting
        };
        Ok(CaptureView {
            id: capture.id.0,
            flow_id: capture.flow_id,
            status,
            event_source: capture.event_source,
            kinds: capture.kinds,
            since: time_text(capture.since_ms),
            expires_at: time_text(capture.expires_at_ms),
            sample,
        })
    }

    /// Keeps the trigger event of run `run_id` as a sample of the run's flow.
    pub async fn sample_from_run(&self, run_id: i64) -> Result<SampleView> {
        let run = self.store().run(RunId(run_id)).await?;
        let event = self.store().event(run.event_id).await?;
        let sample = self
            .store()
            .add_sample(
                &run.flow_id,
                TRIGGER_STEP,
                SampleSource::Run,
                &event.payload,
                tether_store::now_ms(),
            )
            .await?;
        Ok(sample.into())
    }

    /// The samples of `flow_id`, newest first, `limit` per page from `cursor`.
    pub async fn flow_samples(
        &self,
        flow_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<SampleView>> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::invalid(format!(
                "limit: {limit} is out of range; give 1 to {MAX_PAGE}"
            )));
        }
        let before = cursor.map(decode_cursor).transpose()?;
        let mut samples = self.store().samples(flow_id, before, limit + 1).await?;
        let next_cursor = if samples.len() > limit {
            samples.truncate(limit);
            samples.last().map(|sample| encode_cursor(sample.id))
        } else {
            None
        };
        Ok(Page {
            items: samples.into_iter().map(SampleView::from).collect(),
            next_cursor,
        })
    }

    /// Evaluates `request.expression` (or every string of `request.value`) with the engine's
    /// expression code, `trigger` being the sample and `steps.<id>.output` the given outputs.
    /// Every problem is reported (422) with its field path and its line and column in the
    /// expression.
    pub async fn preview(&self, request: &PreviewRequest) -> Result<PreviewResult> {
        let trigger = self
            .trigger_record(request.sample.as_ref(), request.sample_id)
            .await?;
        preview(request, trigger)
    }

    /// Tests one step of a flow against a sample: renders what it would do and, when asked, does
    /// it. A filter answers whether it passes and a map its record; a lookup or an action answers
    /// its rendered input, and runs its operation through [`Service::ops`] (as the executor does)
    /// when `execute` is set: a lookup just runs, an action (a write) runs only with
    /// `confirm_write` too, else the answer carries a warning and nothing is written. A tested
    /// action writes directly: the flow's links are neither read nor written.
    pub async fn test_step(&self, request: &TestStepRequest) -> Result<StepTest> {
        let flow_ref = FlowRef::from_fields(request.yaml.clone(), request.flow_id.clone())?;
        let flow = self.resolve_flow(&flow_ref).await?;
        let trigger = self
            .trigger_record(request.sample.as_ref(), request.sample_id)
            .await?;
        let (mut test, call) = render_step(&flow, request, trigger)?;
        if let Some(StepCall {
            operation,
            connection,
            input,
        }) = call
        {
            test.executed = true;
            match self.ops().invoke(&connection, &operation, input).await {
                Ok(output) => test.output = Some(output),
                Err(error) => {
                    test.error = Some(format!(
                        "{operation} on {connection:?} failed: {}",
                        error.message
                    ));
                }
            }
        }
        Ok(test)
    }

    /// The trigger record of a preview or test: the stored sample `sample_id`, or `sample`.
    pub(crate) async fn trigger_record(
        &self,
        sample: Option<&Value>,
        sample_id: Option<i64>,
    ) -> Result<Value> {
        match (sample, sample_id) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "give either `sample` or `sampleId`, not both",
            )),
            (Some(record), None) => Ok(record.clone()),
            (None, Some(id)) => Ok(self.store().sample(SampleId(id)).await?.record),
            (None, None) => Ok(Value::Object(serde_json::Map::new())),
        }
    }
}

/// An operation call a step test makes.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCall {
    /// The catalog operation.
    pub operation: String,
    /// The connection it is called on.
    pub connection: String,
    /// The rendered input.
    pub input: Value,
}

/// Evaluates a preview against `trigger` (see [`Service::preview`]); needs no store, so the CLI
/// previews without a data folder.
pub fn preview(request: &PreviewRequest, trigger: Value) -> Result<PreviewResult> {
    let mut context = Context::new(trigger, Utc::now());
    for (step, output) in &request.steps {
        context.set_step_output(step, output.clone());
    }
    let mut problems = Vec::new();
    let value = match (&request.expression, &request.value) {
        (Some(text), None) => evaluate_string(text, "expression", &context, &mut problems),
        (None, Some(value)) => evaluate_tree(value, "value", &context, &mut problems),
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "give either `expression` or `value`, not both",
            ));
        }
        (None, None) => {
            return Err(Error::invalid(
                "nothing to preview: give `expression` (a string) or `value`",
            ));
        }
    };
    if problems.is_empty() {
        Ok(PreviewResult { value })
    } else {
        Err(Error::unprocessable(
            format!(
                "the expression cannot be evaluated: {}",
                problems[0].message
            ),
            problems,
        ))
    }
}

/// Renders step `request.step_id` of `flow` against `trigger` (see [`Service::test_step`]):
/// the test as far as it goes without calling anything, and the call to make when the request
/// asks for one and may have it (never an action without `confirm_write`). Needs no store.
pub fn render_step(
    flow: &Flow,
    request: &TestStepRequest,
    trigger: Value,
) -> Result<(StepTest, Option<StepCall>)> {
    let Some((index, step)) = flow
        .steps
        .iter()
        .enumerate()
        .find(|(_, step)| step.id == request.step_id)
    else {
        let ids: Vec<&str> = flow.steps.iter().map(|step| step.id.as_str()).collect();
        return Err(Error::not_found(format!(
            "step {:?} in flow {:?} (its steps: {})",
            request.step_id,
            flow.id,
            ids.join(", ")
        )));
    };
    let mut context =
        Context::new(trigger, Utc::now()).with_flow(&flow.id, &flow.name, &flow.version);
    for earlier in &flow.steps[..index] {
        if let Some(output) = request.steps.get(&earlier.id) {
            tether_engine::executor::set_output(&mut context, earlier, output.clone());
        }
    }
    for (id, output) in &request.steps {
        if !flow.steps[..index].iter().any(|earlier| &earlier.id == id) {
            context.set_step_output(id, output.clone());
        }
    }
    let at = format!("steps[{index}]");
    let mut problems = Vec::new();
    let mut test = StepTest {
        step_id: step.id.clone(),
        kind: String::new(),
        input: None,
        output: None,
        executed: false,
        error: None,
        warning: None,
    };
    let call = match &step.kind {
        StepKind::Filter { when } => {
            test.kind = "filter".into();
            let value =
                evaluate_string(when, &format!("{at}.filter.when"), &context, &mut problems);
            test.output = Some(serde_json::json!({ "passed": expr::truthy(&value) }));
            None
        }
        StepKind::Map { fields } => {
            test.kind = "map".into();
            let mut record = serde_json::Map::new();
            for (field, template) in fields {
                let path = format!("{at}.map.fields.{field}");
                record.insert(
                    field.clone(),
                    evaluate_tree(template, &path, &context, &mut problems),
                );
            }
            test.output = Some(Value::Object(record));
            None
        }
        StepKind::Lookup {
            operation,
            connection,
            input,
            ..
        } => {
            test.kind = "lookup".into();
            let rendered = evaluate_tree(
                input,
                &format!("{at}.lookup.input"),
                &context,
                &mut problems,
            );
            test.input = Some(rendered.clone());
            request.execute.then(|| StepCall {
                operation: operation.clone(),
                connection: connection.clone(),
                input: rendered,
            })
        }
        StepKind::Action {
            operation,
            connection,
            input,
            ..
        } => {
            test.kind = "action".into();
            let rendered = evaluate_tree(
                input,
                &format!("{at}.action.input"),
                &context,
                &mut problems,
            );
            test.input = Some(rendered.clone());
            if request.execute && request.confirm_write {
                Some(StepCall {
                    operation: operation.clone(),
                    connection: connection.clone(),
                    input: rendered,
                })
            } else {
                test.warning = Some(format!(
                    "not run: action `{}` writes to {connection:?} ({operation}); to run it, \
                     confirm the write (`execute` and `confirmWrite` in the API, --execute \
                     --confirm-write in the CLI)",
                    step.id
                ));
                None
            }
        }
    };
    if !problems.is_empty() {
        return Err(Error::unprocessable(
            format!(
                "step {:?} cannot be rendered: {}",
                step.id, problems[0].message
            ),
            problems,
        ));
    }
    Ok((test, call))
}

/// The most samples one page lists.
pub const MAX_PAGE: usize = 200;

/// Evaluates one string; a failure becomes a diagnostic at `path`, positioned in the string.
fn evaluate_string(
    text: &str,
    path: &str,
    context: &Context,
    problems: &mut Vec<Diagnostic>,
) -> Value {
    match expr::evaluate_located(text, context) {
        Ok(value) => value,
        Err((error, position)) => {
            problems.push(Diagnostic {
                line: position.map(|position| position.line),
                column: position.map(|position| position.column),
                path: path.to_owned(),
                message: error.message,
            });
            Value::Null
        }
    }
}

/// Evaluates every string in `value`, reporting each failure at its path.
fn evaluate_tree(
    value: &Value,
    path: &str,
    context: &Context,
    problems: &mut Vec<Diagnostic>,
) -> Value {
    match value {
        Value::String(text) => evaluate_string(text, path, context, problems),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    evaluate_tree(item, &format!("{path}[{index}]"), context, problems)
                })
                .collect(),
        ),
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, item)| {
                    (
                        key.clone(),
                        evaluate_tree(item, &format!("{path}.{key}"), context, problems),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn time_text(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn encode_cursor(id: SampleId) -> String {
    URL_SAFE_NO_PAD.encode(format!("sample:{}", id.0))
}

fn decode_cursor(cursor: &str) -> Result<SampleId> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("sample:")?.parse().ok())
        .map(SampleId)
        .ok_or_else(|| Error::invalid("cursor: not a cursor this list gave; start without one"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_others_are_refused() {
        let cursor = encode_cursor(SampleId(42));
        assert_eq!(decode_cursor(&cursor).ok(), Some(SampleId(42)));
        assert!(decode_cursor("42").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("run:42")).is_err());
    }
}
