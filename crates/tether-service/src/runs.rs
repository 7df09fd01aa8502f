//! Runs and dead letters a person can read and act on: search runs (by flow, status, time and the
//! record they touched), read one run whole (its event, every attempt of every step with its
//! input and output, the links it wrote, its dead letter), retry a failed run, replay a dead
//! letter with explicit choices, resolve one, replay many, and follow runs as they change.
//!
//! The rules live here, for the CLI and the API alike:
//! - A replay names where it starts (`failed_step` keeps the journal of the steps before the one
//!   that failed; `start` runs every step again) and which version runs (`ran`, the version that
//!   failed, refused when that version is no longer loaded, naming both versions; `current`; or
//!   a loaded version's 16 hex digits).
//! - A dead letter is replayed once. Another replay is refused (409) naming the earlier run; the
//!   same request again (same `Idempotency-Key`) answers the same run.
//! - Versions are shown as their 16 hex digits everywhere.
//! - Payloads shown are redacted (secret fields) and cut above [`MAX_SHOWN_PAYLOAD`] bytes, with a
//!   flag; [`Service::step_payload`] answers one whole.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_engine::executor::{version_hex, version_number};
use tether_store::{
    DeadLetter, DeadLetterFilter, DeadLetterId, DeadLetterState, ReplayPlan, Replayed, Run,
    RunFilter, RunId, RunLink, RunStatus, StepResult, StepStatus, Store,
};
use utoipa::ToSchema;

use crate::error::Result;
use crate::{Error, Page, Service};

/// Most bytes of one payload (an event, a step's input or output) a run's detail carries; a
/// larger one is cut, flagged, and fetched whole with [`Service::step_payload`].
pub const MAX_SHOWN_PAYLOAD: usize = 64 * 1024;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page.
pub const MAX_LIMIT: usize = 500;

/// Which runs to list. Every filter given must hold.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Runs of this flow (its id).
    pub flow: Option<String>,
    /// Runs in this status: `queued`, `running`, `retry`, `done` or `dead`.
    pub status: Option<String>,
    /// Runs created at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Runs created before this time (RFC 3339).
    pub until: Option<String>,
    /// Runs that touched this record: a record id (a GHL contact id, a customer id) or an e-mail
    /// address, any case.
    pub record: Option<String>,
}

/// One run in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// The run's id.
    pub id: i64,
    /// Its flow's id.
    pub flow_id: String,
    /// The flow version it runs: 16 hex digits.
    pub flow_version: String,
    /// `queued`, `running`, `retry`, `done` or `dead`.
    pub status: String,
    /// Attempts started.
    pub attempts: i64,
    /// Its trigger event.
    pub event_id: i64,
    /// The dead letter this run replays, when it is a replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<i64>,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When a queued or retrying run is due (RFC 3339).
    pub next_attempt_at: String,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
    /// The record a person knows the run by: an e-mail address it touched, else a record id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The step whose attempt failed last, when one failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<String>,
    /// How long a finished (`done` or `dead`) run took from its creation, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

/// A payload as shown: redacted, and cut when large.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Shown {
    /// The value; when `truncated`, a string holding the first bytes of its JSON text.
    pub value: Value,
    /// The value was larger than 64 KiB and is cut; fetch it whole from its payload URL.
    pub truncated: bool,
    /// The size of the whole value's JSON text, in bytes.
    pub bytes: usize,
}

/// A run's trigger event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// Its id.
    pub id: i64,
    /// Where it came from (`ghl.webhook`).
    pub source: String,
    /// What happened (`ContactCreate`).
    pub kind: String,
    /// When it was received (RFC 3339).
    pub received_at: String,
    /// The event as received.
    pub payload: Shown,
}

/// One journal row: one attempt of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    /// The journal row's id (`/runs/{id}/steps/{row}/payload`).
    pub row: i64,
    /// The step's id in the flow.
    pub step_id: String,
    /// The run attempt that wrote it (0: kept from the run a replay continues).
    pub attempt: i64,
    /// `ok`, `skipped` or `failed`.
    pub status: String,
    /// The step's resolved input (a lookup's or action's call input), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Shown>,
    /// What the step answered; absent for a failed attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Shown>,
    /// Why the attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was journaled (RFC 3339).
    pub recorded_at: String,
    /// How long it took, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

/// A link a run wrote: a source record and the target record it was written to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    /// The action step that wrote it.
    pub step_id: String,
    /// The source app (`ghl`).
    pub source_app: String,
    /// The source record type (`contact`).
    pub source_type: String,
    /// The source record id.
    pub source_id: String,
    /// The target app.
    pub target_app: String,
    /// The target record type.
    pub target_type: String,
    /// The target record id.
    pub target_id: String,
    /// When (RFC 3339).
    pub written_at: String,
}

/// A dead letter: a run that failed for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterView {
    /// Its id.
    pub id: i64,
    /// The run that failed.
    pub run_id: i64,
    /// Its flow.
    pub flow_id: String,
    /// The flow version that ran: 16 hex digits.
    pub flow_version: String,
    /// The step that failed, when a step did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<String>,
    /// Why, in words for a person.
    pub reason: String,
    /// Attempts the run had.
    pub attempts: i64,
    /// `open`, `replayed` or `resolved`.
    pub state: String,
    /// When it was dead-lettered (RFC 3339).
    pub created_at: String,
    /// The run replaying it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_run_id: Option<i64>,
    /// When it was replayed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed_at: Option<String>,
    /// When it was resolved (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    /// The note it was resolved with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution_note: Option<String>,
}

/// Everything about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    /// The run.
    pub run: RunSummary,
    /// Its trigger event.
    pub event: EventView,
    /// Every journal row in order: each attempt of each step.
    pub steps: Vec<StepView>,
    /// The links it wrote.
    pub links: Vec<LinkView>,
    /// Its dead letter, when it failed for good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetterView>,
}

/// Where a replay starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayFrom {
    /// At the step that failed: the steps that finished before it keep their journal.
    FailedStep,
    /// From the first step.
    Start,
}

/// Which flow version a replay runs: `ran` (the version that failed), `current` (the version
/// new events run with), or a loaded version's 16 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ReplayVersion {
    /// The version that ran.
    Ran,
    /// The flow's current version.
    Current,
    /// This version (16 hex digits).
    Exact(String),
}

impl TryFrom<String> for ReplayVersion {
    type Error = String;

    fn try_from(text: String) -> std::result::Result<Self, String> {
        match text.as_str() {
            "ran" => Ok(ReplayVersion::Ran),
            "current" => Ok(ReplayVersion::Current),
            hex if version_number(hex).is_some() => Ok(ReplayVersion::Exact(hex.to_lowercase())),
            other => Err(format!(
                "version {other:?} is not `ran`, `current` or a flow version (16 hex digits, as \
                 `tether runs` shows them)"
            )),
        }
    }
}

impl From<ReplayVersion> for String {
    fn from(version: ReplayVersion) -> String {
        match version {
            ReplayVersion::Ran => "ran".into(),
            ReplayVersion::Current => "current".into(),
            ReplayVersion::Exact(hex) => hex,
        }
    }
}

impl std::str::FromStr for ReplayVersion {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        ReplayVersion::try_from(text.to_owned())
    }
}

/// How to replay a dead letter or retry a run: both choices are explicit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayRequest {
    /// Where the new run starts.
    pub from: ReplayFrom,
    /// Which flow version it runs: `ran` (the version that failed), `current`, or a loaded
    /// version's 16 hex digits.
    #[schema(value_type = String, example = "current")]
    pub version: ReplayVersion,
}

/// What a replay or retry did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayAnswer {
    /// The run that executes it.
    pub run_id: i64,
    /// The dead letter replayed, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_id: Option<i64>,
    /// The flow version the run runs: 16 hex digits.
    pub flow_version: String,
    /// `true` when this answers a request made before with the same `Idempotency-Key`.
    pub repeated: bool,
    /// What happens next, for a person.
    pub message: String,
}

/// Which dead letters to list or replay. Every filter given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// Of this flow.
    pub flow: Option<String>,
    /// Dead-lettered at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Dead-lettered before this time (RFC 3339).
    pub until: Option<String>,
    /// Whose reason contains this text (any case).
    pub reason: Option<String>,
    /// `open`, `replayed` or `resolved` (a bulk replay takes open ones only).
    pub state: Option<String>,
}

/// A bulk replay: which dead letters and how.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkReplayRequest {
    /// Which dead letters (open ones only).
    #[serde(default)]
    pub filter: DeadLetterQuery,
    /// Where each new run starts.
    pub from: ReplayFrom,
    /// Which version each runs: `ran`, `current`, or 16 hex digits.
    #[schema(value_type = String, example = "current")]
    pub version: ReplayVersion,
}

/// What a bulk replay did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkReplayAnswer {
    /// How many runs were queued.
    pub queued: usize,
    /// The runs queued.
    pub run_ids: Vec<i64>,
    /// Dead letters matching the filter that were not replayed, each with why.
    pub skipped: Vec<Skipped>,
}

/// A dead letter a bulk replay left alone, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The dead letter.
    pub dead_letter_id: i64,
    /// Why it was not replayed.
    pub reason: String,
}

/// A dismissal of a dead letter.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResolveRequest {
    /// Why it needs no replay, for the next person.
    #[serde(default)]
    pub note: String,
}

/// Which part of a journal row to fetch whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayloadPart {
    /// The step's resolved input.
    Input,
    /// The step's output (or, for a failed attempt, its error).
    Output,
}

/// A change of a run, as live run events deliver it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunChange {
    /// Where this change is in the order of changes (`<ms>-<run id>`): a watch made with it
    /// ([`Service::watch_runs_after`]) delivers the changes after it.
    pub position: String,
    /// The run as it is after the change.
    pub run: RunSummary,
}

/// Follows runs as they change, in any process sharing the store: each [`RunWatch::poll`]
/// answers the runs changed since the last one, by reading the store.
#[derive(Debug)]
pub struct RunWatch {
    service: Service,
    /// The newest change seen: (ms, run id).
    seen: (i64, i64),
    /// Changes at or before this position are older than the watch: never delivered.
    floor: (i64, i64),
    /// Changes delivered recently, by run id → their `updated_at_ms`, so a change read again
    /// through the look-back window is not delivered twice.
    delivered: HashMap<i64, i64>,
}

/// How far back each poll reads again: a change committed late with an earlier time (another
/// process's transaction) is still delivered.
const LOOK_BACK_MS: i64 = 2_000;

impl RunWatch {
    /// Where the watch is: `<ms>-<run id>` of the newest change delivered, to resume from.
    pub fn position(&self) -> String {
        format!("{}-{}", self.seen.0, self.seen.1)
    }

    /// The runs changed since the last poll (since the watch began, at first), oldest change
    /// first.
    pub async fn poll(&mut self) -> Result<Vec<RunChange>> {
        let store = self.service.store();
        let mut from = (self.seen.0.saturating_sub(LOOK_BACK_MS), 0);
        let mut changes = Vec::new();
        loop {
            let runs = store.runs_changed_since(from.0, from.1, 500).await?;
            let full = runs.len() == 500;
            let mut fresh = Vec::new();
            for run in runs {
                from = (run.updated_at_ms, run.id.0);
                if (run.updated_at_ms, run.id.0) <= self.floor
                    || self.delivered.get(&run.id.0) == Some(&run.updated_at_ms)
                {
                    continue;
                }
                self.delivered.insert(run.id.0, run.updated_at_ms);
                self.seen = self.seen.max((run.updated_at_ms, run.id.0));
                fresh.push(run);
            }
            for (run, shown) in fresh.iter().zip(summaries(store, &fresh).await?) {
                changes.push(RunChange {
                    position: format!("{}-{}", run.updated_at_ms, run.id.0),
                    run: shown,
                });
            }
            if !full {
                break;
            }
        }
        let horizon = self.seen.0.saturating_sub(2 * LOOK_BACK_MS);
        self.delivered.retain(|_, at| *at >= horizon);
        Ok(changes)
    }
}

impl Service {
    /// One page of runs matching `query`, newest first.
    pub async fn runs(
        &self,
        query: &RunQuery,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<Page<RunSummary>> {
        let limit = page_limit(limit)?;
        let status = match query.status.as_deref() {
            None | Some("") => None,
            Some(name) => Some(RunStatus::from_name(name).ok_or_else(|| {
                Error::invalid(format!(
                    "status: {name:?} is not a run status (queued, running, retry, done, dead)"
                ))
            })?),
        };
        let filter = RunFilter {
            flow_id: non_empty(query.flow.as_deref()),
            status,
            since_ms: time_param("since", query.since.as_deref())?,
            until_ms: time_param("until", query.until.as_deref())?,
            record: non_empty(query.record.as_deref()),
            before: cursor
                .map(|cursor| decode_cursor(cursor, "run"))
                .transpose()?
                .map(RunId),
        };
        let mut runs = self.store().search_runs(&filter, limit + 1).await?;
        let next_cursor = if runs.len() > limit {
            runs.truncate(limit);
            runs.last().map(|run| encode_cursor("run", run.id.0))
        } else {
            None
        };
        Ok(Page {
            items: summaries(self.store(), &runs).await?,
            next_cursor,
        })
    }

    /// Everything about run `id`: the run, its event, every journal row, the links it wrote and
    /// its dead letter.
    pub async fn run_detail(&self, id: i64) -> Result<RunDetail> {
        let store = self.store();
        let run = store.run(RunId(id)).await?;
        let event = store.event(run.event_id).await?;
        let steps = store.journal(run.id).await?;
        let links = store.run_links(run.id).await?;
        let dead_letter = store.dlq_for_run(run.id).await?;
        let listed = summaries(store, std::slice::from_ref(&run)).await?;
        Ok(RunDetail {
            run: listed.into_iter().next().unwrap_or_else(|| summary(&run)),
            event: EventView {
                id: event.id.0,
                source: event.source,
                kind: event.kind,
                received_at: time(event.received_at_ms),
                payload: shown(event.payload),
            },
            steps: steps.into_iter().map(step_view).collect(),
            links: links.iter().map(link_view).collect(),
            dead_letter: dead_letter.as_ref().map(dead_letter_view),
        })
    }

    /// One part of journal row `row` of run `id`, whole (redacted, never cut).
    pub async fn step_payload(&self, id: i64, row: i64, part: PayloadPart) -> Result<Value> {
        let step = self.store().journal_row(RunId(id), row).await?;
        let mut value = match part {
            PayloadPart::Input => step.input.ok_or_else(|| {
                Error::not_found(format!(
                    "input of step `{}` in run {id}: this step has none",
                    step.step_id
                ))
            })?,
            PayloadPart::Output => step.output,
        };
        tether_http::redact::json(&mut value);
        Ok(value)
    }

    /// Run `id`'s trigger event, whole (redacted): what [`RunDetail`] cuts above 64 KiB.
    pub async fn event_payload(&self, id: i64) -> Result<Value> {
        let store = self.store();
        let run = store.run(RunId(id)).await?;
        let mut value = store.event(run.event_id).await?.payload;
        tether_http::redact::json(&mut value);
        Ok(value)
    }

    /// Retries run `id`: a dead run is replayed as its dead letter would be (see
    /// [`Service::replay_dead_letter`]); a run waiting for its next attempt is made due now,
    /// which only `from: failed_step` and `version: ran` describe.
    pub async fn retry_run(
        &self,
        id: i64,
        request: &ReplayRequest,
        idempotency_key: Option<&str>,
    ) -> Result<ReplayAnswer> {
        let store = self.store();
        let run = store.run(RunId(id)).await?;
        match run.status {
            RunStatus::Dead => {
                let letter = store.dlq_for_run(run.id).await?.ok_or_else(|| {
                    Error::internal(format!("run {id} is dead but has no dead letter"))
                })?;
                self.replay_dead_letter(letter.id.0, request, idempotency_key)
                    .await
            }
            RunStatus::Retry => {
                if request.from != ReplayFrom::FailedStep || request.version != ReplayVersion::Ran {
                    return Err(Error::conflict(format!(
                        "run {id} is waiting for its next attempt, which resumes at the failed \
                         step with the version that ran; retry it with from `failed_step` and \
                         version `ran`, or wait until it is dead-lettered to replay it otherwise"
                    )));
                }
                store.retry_run_now(run.id).await?;
                Ok(ReplayAnswer {
                    run_id: id,
                    dead_letter_id: None,
                    flow_version: version_hex(run.flow_version),
                    repeated: false,
                    message: queued_message(id),
                })
            }
            other => Err(Error::conflict(format!(
                "run {id} is {}; only a run that failed (retry) or died (dead) can be retried",
                other.as_str()
            ))),
        }
    }

    /// Replays dead letter `id` as a new run, as `request` says. Refused (409) when it was
    /// replayed before by another request (naming that run), when it was resolved, and when the
    /// version asked for is not loaded (naming the version that ran and the current one). The
    /// same request again, with the same `idempotency_key`, answers the same run.
    pub async fn replay_dead_letter(
        &self,
        id: i64,
        request: &ReplayRequest,
        idempotency_key: Option<&str>,
    ) -> Result<ReplayAnswer> {
        let store = self.store();
        let letter = store.dlq_get(DeadLetterId(id)).await?;
        // The same request again answers what it did, even should the flows have changed since.
        if let (Some(key), Some(run_id)) = (idempotency_key, letter.replay_run_id)
            && letter.replay_key.as_deref() == Some(key)
        {
            let run = store.run(run_id).await?;
            return Ok(ReplayAnswer {
                run_id: run_id.0,
                dead_letter_id: Some(id),
                flow_version: version_hex(run.flow_version),
                repeated: true,
                message: queued_message(run_id.0),
            });
        }
        if let Some(refusal) = already_handled(&letter) {
            return Err(refusal);
        }
        let version =
            self.replay_version(&letter.flow_id, letter.flow_version, &request.version)?;
        let plan = ReplayPlan {
            flow_version: version,
            keep_finished_steps: request.from == ReplayFrom::FailedStep,
            key: idempotency_key.map(str::to_owned),
        };
        match store.dlq_replay(letter.id, &plan).await? {
            Replayed::Queued(run_id) | Replayed::Again(run_id) => Ok(ReplayAnswer {
                run_id: run_id.0,
                dead_letter_id: Some(id),
                flow_version: version_hex(version),
                repeated: false,
                message: queued_message(run_id.0),
            }),
            // Another request replayed or resolved it meanwhile.
            Replayed::Before { .. } | Replayed::Resolved { .. } => {
                let letter = store.dlq_get(letter.id).await?;
                Err(already_handled(&letter)
                    .unwrap_or_else(|| Error::conflict(format!("dead letter {id} changed; retry"))))
            }
        }
    }

    /// Replays every open dead letter matching `request.filter`, each as
    /// [`Service::replay_dead_letter`] would; answers how many were queued and which were
    /// skipped, and why.
    pub async fn replay_dead_letters(
        &self,
        request: &BulkReplayRequest,
    ) -> Result<BulkReplayAnswer> {
        let mut filter = dead_letter_filter(&request.filter)?;
        if filter
            .state
            .is_some_and(|state| state != DeadLetterState::Open)
        {
            return Err(Error::invalid(
                "filter.state: a bulk replay takes open dead letters only; leave it out or say \
                 `open`",
            ));
        }
        filter.state = Some(DeadLetterState::Open);
        let mut answer = BulkReplayAnswer {
            queued: 0,
            run_ids: Vec::new(),
            skipped: Vec::new(),
        };
        let replay = ReplayRequest {
            from: request.from,
            version: request.version.clone(),
        };
        loop {
            let letters = self.store().dlq_search(&filter, MAX_LIMIT).await?;
            let Some(last) = letters.last() else { break };
            filter.before = Some(last.id);
            for letter in &letters {
                match self.replay_dead_letter(letter.id.0, &replay, None).await {
                    Ok(done) => {
                        answer.queued += 1;
                        answer.run_ids.push(done.run_id);
                    }
                    Err(error) if error.code != crate::ErrorCode::Internal => {
                        answer.skipped.push(Skipped {
                            dead_letter_id: letter.id.0,
                            reason: error.message,
                        });
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(answer)
    }

    /// One page of dead letters matching `query`, newest first.
    pub async fn dead_letters(
        &self,
        query: &DeadLetterQuery,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<Page<DeadLetterView>> {
        let limit = page_limit(limit)?;
        let mut filter = dead_letter_filter(query)?;
        filter.before = cursor
            .map(|cursor| decode_cursor(cursor, "dead-letter"))
            .transpose()?
            .map(DeadLetterId);
        let mut letters = self.store().dlq_search(&filter, limit + 1).await?;
        let next_cursor = if letters.len() > limit {
            letters.truncate(limit);
            letters
                .last()
                .map(|letter| encode_cursor("dead-letter", letter.id.0))
        } else {
            None
        };
        Ok(Page {
            items: letters.iter().map(dead_letter_view).collect(),
            next_cursor,
        })
    }

    /// Dead letter `id`.
    pub async fn dead_letter(&self, id: i64) -> Result<DeadLetterView> {
        Ok(dead_letter_view(
            &self.store().dlq_get(DeadLetterId(id)).await?,
        ))
    }

    /// Resolves (dismisses) dead letter `id` with `note`; refused (409) when it was replayed or
    /// resolved before.
    pub async fn resolve_dead_letter(&self, id: i64, note: &str) -> Result<DeadLetterView> {
        let store = self.store();
        let letter = store.dlq_get(DeadLetterId(id)).await?;
        if let Some(refusal) = already_handled(&letter) {
            return Err(refusal);
        }
        let letter = store.dlq_resolve(letter.id, note.trim()).await?;
        if letter.replay_run_id.is_some() {
            // A replay won the race.
            return Err(already_handled(&letter)
                .unwrap_or_else(|| Error::conflict(format!("dead letter {id} changed; retry"))));
        }
        Ok(dead_letter_view(&letter))
    }

    /// A watch on run changes from now on (see [`RunWatch`]).
    pub fn watch_runs(&self) -> RunWatch {
        self.watch_runs_after(None)
    }

    /// A watch on run changes after `seen` (a [`RunWatch::position`] a client kept, such as
    /// an event stream's `Last-Event-ID`), or from now on.
    pub fn watch_runs_after(&self, seen: Option<&str>) -> RunWatch {
        let seen = seen
            .and_then(|text| {
                let (ms, id) = text.split_once('-')?;
                Some((ms.parse().ok()?, id.parse().ok()?))
            })
            .unwrap_or((tether_store::now_ms(), 0));
        RunWatch {
            service: self.clone(),
            seen,
            floor: seen,
            delivered: HashMap::new(),
        }
    }

    /// The 16 hex digits of run version `number` (how every version is shown).
    pub fn version_label(number: i64) -> String {
        version_hex(number)
    }

    /// The version number a replay of `flow_id`, which ran `ran`, runs at `choice`.
    fn replay_version(&self, flow_id: &str, ran: i64, choice: &ReplayVersion) -> Result<i64> {
        let flows = self.flows();
        let current = flows.current_version(flow_id);
        let current_words = || match &current {
            Some((number, _)) => format!("the current version is {}", version_hex(*number)),
            None => format!("flow {flow_id:?} is not loaded at all (no flow file has this id)"),
        };
        match choice {
            ReplayVersion::Ran => {
                if flows.get(flow_id, ran).is_some() {
                    Ok(ran)
                } else {
                    Err(Error::conflict(format!(
                        "flow {flow_id:?} version {} that ran is no longer loaded, so a replay \
                         with it would fail the same way; {}: replay with version `current`",
                        version_hex(ran),
                        current_words()
                    )))
                }
            }
            ReplayVersion::Current => {
                current.as_ref().map(|(number, _)| *number).ok_or_else(|| {
                    Error::conflict(format!(
                        "{}; load the flow, then replay (the version that ran is {})",
                        current_words(),
                        version_hex(ran)
                    ))
                })
            }
            ReplayVersion::Exact(hex) => {
                let number = version_number(hex).ok_or_else(|| {
                    Error::invalid(format!("version: {hex:?} is not 16 hex digits"))
                })?;
                if flows.get(flow_id, number).is_some() {
                    Ok(number)
                } else {
                    Err(Error::conflict(format!(
                        "flow {flow_id:?} has no loaded version {hex}; the version that ran is \
                         {}, and {}",
                        version_hex(ran),
                        current_words()
                    )))
                }
            }
        }
    }
}

/// The refusal of a replay or resolve of a dead letter a person acted on before.
fn already_handled(letter: &DeadLetter) -> Option<Error> {
    if let Some(run_id) = letter.replay_run_id {
        return Some(Error::conflict(format!(
            "dead letter {} was replayed already, as run {run_id}{}; follow that run (a dead \
             letter is replayed once)",
            letter.id,
            letter
                .replayed_at_ms
                .map(|at| format!(" at {}", time(at)))
                .unwrap_or_default()
        )));
    }
    letter.resolved_at_ms.map(|at| {
        Error::conflict(format!(
            "dead letter {} was resolved at {}{}",
            letter.id,
            time(at),
            letter
                .resolution_note
                .as_deref()
                .filter(|note| !note.is_empty())
                .map(|note| format!(": {note}"))
                .unwrap_or_default()
        ))
    })
}

/// What a queued run waits for, in words.
fn queued_message(run_id: i64) -> String {
    format!("queued as run {run_id}; a running `tether serve` will execute it")
}

fn page_limit(limit: Option<usize>) -> Result<usize> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        Some(limit) => Err(Error::invalid(format!(
            "limit: {limit} is out of range; ask for 1 to {MAX_LIMIT}"
        ))),
    }
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// An RFC 3339 time parameter as ms since the epoch; a bad one is refused naming `field`.
fn time_param(field: &str, text: Option<&str>) -> Result<Option<i64>> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| Some(at.timestamp_millis()))
        .map_err(|error| {
            Error::invalid(format!(
                "{field}: {text:?} is not an RFC 3339 time such as 2026-01-31T09:00:00Z ({error})"
            ))
        })
}

fn dead_letter_filter(query: &DeadLetterQuery) -> Result<DeadLetterFilter> {
    let state = match query.state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("open") => Some(DeadLetterState::Open),
        Some("replayed") => Some(DeadLetterState::Replayed),
        Some("resolved") => Some(DeadLetterState::Resolved),
        Some(other) => {
            return Err(Error::invalid(format!(
                "state: {other:?} is not a dead-letter state (open, replayed, resolved)"
            )));
        }
    };
    Ok(DeadLetterFilter {
        flow_id: non_empty(query.flow.as_deref()),
        since_ms: time_param("since", query.since.as_deref())?,
        until_ms: time_param("until", query.until.as_deref())?,
        reason_contains: non_empty(query.reason.as_deref()),
        state,
        before: None,
    })
}

/// The cursor of the page of runs older than run `id` (what `nextCursor` is after a page whose
/// last run is `id`), for tools that start deep in the list.
pub fn run_cursor(id: i64) -> String {
    encode_cursor("run", id)
}

fn encode_cursor(kind: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

fn decode_cursor(cursor: &str, kind: &str) -> Result<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (found, id) = text.split_once(':')?;
            (found == kind).then(|| id.parse().ok()).flatten()
        })
        .ok_or_else(|| {
            Error::invalid(format!(
                "cursor: {cursor:?} is not a cursor of this list; pass the `nextCursor` of the \
                 previous page"
            ))
        })
}

/// Milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A run as listed.
pub fn summary(run: &Run) -> RunSummary {
    RunSummary {
        id: run.id.0,
        flow_id: run.flow_id.clone(),
        flow_version: version_hex(run.flow_version),
        status: run.status.as_str().to_owned(),
        attempts: run.attempts,
        event_id: run.event_id.0,
        replay_of: run.replay_of,
        last_error: run.last_error.clone(),
        next_attempt_at: time(run.next_attempt_at_ms),
        created_at: time(run.created_at_ms),
        updated_at: time(run.updated_at_ms),
        record: None,
        failed_step: None,
        duration_ms: matches!(run.status, RunStatus::Done | RunStatus::Dead)
            .then(|| (run.updated_at_ms - run.created_at_ms).max(0)),
    }
}

/// Runs as listed, each with its record and failed step (two queries for the lot).
pub async fn summaries(store: &Store, runs: &[Run]) -> Result<Vec<RunSummary>> {
    let ids: Vec<RunId> = runs.iter().map(|run| run.id).collect();
    let mut facts = store.run_facts(&ids).await?;
    Ok(runs
        .iter()
        .map(|run| {
            let mut shown = summary(run);
            if let Some(fact) = facts.remove(&run.id) {
                shown.record = fact.record;
                shown.failed_step = fact.failed_step;
            }
            shown
        })
        .collect())
}

/// A payload as shown: redacted, cut above [`MAX_SHOWN_PAYLOAD`].
fn shown(mut value: Value) -> Shown {
    tether_http::redact::json(&mut value);
    let text = value.to_string();
    let bytes = text.len();
    if bytes <= MAX_SHOWN_PAYLOAD {
        return Shown {
            value,
            truncated: false,
            bytes,
        };
    }
    let mut end = MAX_SHOWN_PAYLOAD;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Shown {
        value: Value::String(text[..end].to_owned()),
        truncated: true,
        bytes,
    }
}

fn step_view(step: StepResult) -> StepView {
    let (output, error) = if step.status == StepStatus::Failed {
        let error = step
            .output
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| step.output.to_string(), str::to_owned);
        (None, Some(error))
    } else {
        (Some(shown(step.output)), None)
    };
    StepView {
        row: step.row,
        step_id: step.step_id,
        attempt: step.attempt,
        status: step.status.as_str().to_owned(),
        input: step.input.map(shown),
        output,
        error,
        recorded_at: time(step.recorded_at_ms),
        duration_ms: step.duration_ms,
    }
}

fn link_view(link: &RunLink) -> LinkView {
    LinkView {
        step_id: link.step_id.clone(),
        source_app: link.source_app.clone(),
        source_type: link.source_type.clone(),
        source_id: link.source_id.clone(),
        target_app: link.target_app.clone(),
        target_type: link.target_type.clone(),
        target_id: link.target_id.clone(),
        written_at: time(link.written_at_ms),
    }
}

/// A dead letter as shown.
pub fn dead_letter_view(letter: &DeadLetter) -> DeadLetterView {
    let state = if letter.replay_run_id.is_some() {
        "replayed"
    } else if letter.resolved_at_ms.is_some() {
        "resolved"
    } else {
        "open"
    };
    DeadLetterView {
        id: letter.id.0,
        run_id: letter.run_id.0,
        flow_id: letter.flow_id.clone(),
        flow_version: version_hex(letter.flow_version),
        failed_step: letter.failed_step.clone(),
        reason: letter.reason.clone(),
        attempts: letter.attempts,
        state: state.to_owned(),
        created_at: time(letter.created_at_ms),
        replay_run_id: letter.replay_run_id.map(|run| run.0),
        replayed_at: letter.replayed_at_ms.map(time),
        resolved_at: letter.resolved_at_ms.map(time),
        resolution_note: letter.resolution_note.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_choice_is_ran_current_or_16_hex_digits() {
        assert_eq!("ran".parse(), Ok(ReplayVersion::Ran));
        assert_eq!("current".parse(), Ok(ReplayVersion::Current));
        assert_eq!(
            "0123456789ABCDEF".parse(),
            Ok(ReplayVersion::Exact("0123456789abcdef".into()))
        );
        let refused = "12".parse::<ReplayVersion>().unwrap_err();
        assert!(refused.contains("\"12\" is not"), "{refused}");
    }

    #[test]
    fn cursors_round_trip_and_a_foreign_one_is_refused() {
        let cursor = encode_cursor("run", 900_000);
        assert_eq!(decode_cursor(&cursor, "run").unwrap(), 900_000);
        assert!(decode_cursor(&cursor, "dead-letter").is_err());
        assert!(decode_cursor("12", "run").is_err());
    }

    #[test]
    fn a_large_payload_is_cut_and_flagged_and_secrets_are_redacted() {
        let small = shown(serde_json::json!({"password": "hunter2", "email": "a@b.c"}));
        assert_eq!(
            small.value,
            serde_json::json!({"password": "[redacted]", "email": "a@b.c"})
        );
        assert!(!small.truncated);
        let large = shown(serde_json::json!({"notes": "é".repeat(MAX_SHOWN_PAYLOAD)}));
        assert!(large.truncated);
        assert!(large.bytes > MAX_SHOWN_PAYLOAD);
        assert!(large.value.as_str().unwrap().len() <= MAX_SHOWN_PAYLOAD);
    }
}
