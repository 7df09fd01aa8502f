//! The run executor: executes one leased run of a flow, step by step, resuming after the last
//! journaled step, and decides the run's fate (done, retry later, or the dead-letter queue).
//!
//! **Exactly-once effects.** An action that creates (`*.create`, `*.upsert`) or has a `match`
//! consults its link first: the id map from the trigger's record to the record the action wrote.
//! Two-way sync rides on the same links (see [`crate::sync`] and `docs/sync.md`):
//! - The trigger's record is compared with what Tether knew of it (the flow's last read of it,
//!   overlaid with every write Tether made into it since, through any flow's link). When nothing
//!   changed (an echo of Tether's own write, or the same event again) the call is skipped; so is
//!   a call whose input hashes (SHA-256 of the canonical JSON) to what the link last sent.
//! - The target is the link's, else the id map read backwards: the record this source was
//!   written from by another flow, when it is of the type this action writes. A known target is
//!   updated with only the input fields that a change reaches (traced through expressions and
//!   map steps), under their write policies (`write:`), and never with a value it is known to hold.
//! - No link but a `match`: the target is looked up by the match field first
//!   (`details_flowers.customer.find_by_email`; for GHL, `ghl.contact.upsert` matches by itself,
//!   except a match on `tags`, which searches for the contact carrying that tag: how a Flickr
//!   user's contact, tagged `flickr:<nsid>`, is found by every flow that writes it, and except an
//!   action with `if_empty` fields, which finds the contact first with
//!   `ghl.contact.find_duplicate`) and a found record is updated field by field instead of
//!   duplicated.
//! - GHL records Tether updates through a link: contacts (`contactId`), notes (`noteId`) and
//!   tasks (`taskId`); a link to another GHL record is left alone rather than duplicated.
//!
//! The link is written after the call succeeds and the step is journaled after that, so a crash
//! between the call and the journal finds the link on retry and does not write twice. From
//! reading the link to writing it the action holds a store lease on its source record, so two
//! runs for one record (a create and its update delivered together) cannot both create; the
//! second retries with backoff.
//!
//! **The source record** of a link is the trigger's record: its app is the event source's first
//! segment (`ghl` of `ghl.webhook`, `details_flowers` of `details_flowers.customer.new`), its type
//! the event kind's resource (`contact` of `ContactCreate`, `customer` of `customer.new`) or else
//! the polled source's (`customer`), and its id the payload's `id`, else
//! `<type>.id` (`appointment.id`), else `contactId`. A link belongs to one action: its flow
//! column is `<flow id>/<step id>`, so two actions of one flow on the same record keep apart.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tether_core::ErrorKind;
use tether_core::catalog::OperationMeta;
use tether_store::{Link, NewStep, Run, StepCommit, StepStatus, Store};
use tracing::{info, warn};

use crate::expr::{self, Context};
use crate::flow::{self, Flow, FlowErrors, MatchSpec, OnError, Problem, StepKind, WritePolicy};
use crate::invoke::{Operations, describe};
use crate::sync::{self, Deps, SyncState};

/// How many attempts a run gets before it goes to the dead-letter queue.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long an action holds its source record's lease (see [`execute_run`]) before its worker's
/// heartbeat ([`crate::worker::HEARTBEAT`]) extends it: it expires only when the worker died, and
/// then soon, so a crashed worker's records are free again within half a minute.
pub const LINK_LEASE_MS: i64 = 30 * 1000;
/// The first retry waits up to this long.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// No retry waits longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// No retry comes sooner than this, whatever the jitter drew: a retry due at once would be
/// leased again by the same pass of a worker, a hot loop against a failing service.
pub const BACKOFF_FLOOR: Duration = Duration::from_millis(100);

/// The number the store records for a flow version.
///
/// A flow's version is 16 hex digits (64 bits of its content hash); the store keeps an `i64`
/// holding those 64 bits as they are (two's complement), so [`version_hex`] gives the same 16
/// digits back and a version is shown alike everywhere. `None` when `version` is not 16 hex
/// digits.
pub fn version_number(version: &str) -> Option<i64> {
    if version.len() != 16 {
        return None;
    }
    let bits = u64::from_str_radix(version, 16).ok()?;
    Some(i64::from_be_bytes(bits.to_be_bytes()))
}

/// The 16 hex digits of a stored version number: the flow's `version` as its file hashes to.
pub fn version_hex(number: i64) -> String {
    format!("{:016x}", u64::from_be_bytes(number.to_be_bytes()))
}

/// Whether `number` is how Tether before 0.1's run search stored `version`: its first 15 digits
/// (60 bits). Runs queued then still find their flow.
fn is_legacy_number(number: i64, version: i64) -> bool {
    number >= 0
        && u64::from_be_bytes(version.to_be_bytes()) >> 4
            == u64::from_be_bytes(number.to_be_bytes())
}

/// The flows a process knows, each with every version it has loaded, so that a run executes the
/// version it was enqueued with even after the flow file changed.
///
/// Cloning shares the set: a flow inserted through one clone (the API saving a flow) is seen by
/// the workers holding another.
#[derive(Debug, Clone, Default)]
pub struct FlowSet {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Flow id → version number → flow.
    versions: BTreeMap<String, BTreeMap<i64, Arc<Flow>>>,
    /// Flow id → the version new events run with.
    current: BTreeMap<String, i64>,
}

impl FlowSet {
    /// An empty set.
    pub fn new() -> Self {
        FlowSet::default()
    }

    /// Loads every `*.yaml` and `*.yml` file of `dir`, checked against `catalog`. Every problem
    /// of every file is reported at once; two files with the same flow id are a problem too.
    pub fn load_dir(dir: &Path, catalog: &[OperationMeta]) -> Result<Self, FlowErrors> {
        let whole_dir = |message: String| FlowErrors {
            problems: vec![Problem {
                file: dir.to_path_buf(),
                line: 0,
                column: 0,
                path: String::new(),
                message,
            }],
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|error| whole_dir(format!("cannot read the folder: {error}")))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|error| whole_dir(format!("cannot read the folder: {error}")))?
                .path();
            let is_yaml = path
                .extension()
                .is_some_and(|extension| extension == "yaml" || extension == "yml");
            if is_yaml && path.is_file() {
                files.push(path);
            }
        }
        // Sorted, so problems and duplicate reports come in the same order on every machine.
        files.sort();
        let set = FlowSet::new();
        let mut problems = Vec::new();
        let mut seen: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
        for file in files {
            match flow::load_flow_checked(&file, catalog) {
                Ok(flow) => {
                    if let Some(first) = seen.get(&flow.id) {
                        problems.push(Problem {
                            file: file.clone(),
                            line: 0,
                            column: 0,
                            path: "id".into(),
                            message: format!(
                                "flow id {:?} is also the id of {}",
                                flow.id,
                                first.display()
                            ),
                        });
                        continue;
                    }
                    seen.insert(flow.id.clone(), file.clone());
                    if let Err(problem) = set.insert(flow) {
                        problems.push(Problem {
                            file,
                            line: 0,
                            column: 0,
                            path: "version".into(),
                            message: problem,
                        });
                    }
                }
                Err(errors) => problems.extend(errors.problems),
            }
        }
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(FlowErrors { problems })
        }
    }

    /// Adds `flow` and makes it the version new events run with; older versions stay, for the
    /// runs enqueued with them. Answers the version number, or why the version is unusable.
    pub fn insert(&self, flow: Flow) -> Result<i64, String> {
        let number = version_number(&flow.version)
            .ok_or_else(|| format!("version {:?} is not 16 hex digits", flow.version))?;
        let mut inner = self.inner.write();
        inner.current.insert(flow.id.clone(), number);
        inner
            .versions
            .entry(flow.id.clone())
            .or_default()
            .insert(number, Arc::new(flow));
        Ok(number)
    }

    /// Adds `flow` as a version runs may name, without making it the one new events run (a
    /// version an older queued run needs). Answers the version number.
    pub fn insert_version(&self, flow: Flow) -> Result<i64, String> {
        let number = version_number(&flow.version)
            .ok_or_else(|| format!("version {:?} is not 16 hex digits", flow.version))?;
        self.inner
            .write()
            .versions
            .entry(flow.id.clone())
            .or_default()
            .entry(number)
            .or_insert_with(|| Arc::new(flow));
        Ok(number)
    }

    /// Stops flow `id` from starting runs (disabled, or removed): it leaves [`FlowSet::current`],
    /// while its versions stay for the runs already enqueued.
    pub fn retire(&self, id: &str) {
        self.inner.write().current.remove(id);
    }

    /// The flow `id` at version `version`, when loaded.
    pub fn get(&self, id: &str, version: i64) -> Option<Arc<Flow>> {
        let inner = self.inner.read();
        let versions = inner.versions.get(id)?;
        versions.get(&version).cloned().or_else(|| {
            versions
                .iter()
                .find(|(number, _)| is_legacy_number(version, **number))
                .map(|(_, flow)| flow.clone())
        })
    }

    /// The version new events of flow `id` run with, when the flow is loaded.
    pub fn current_version(&self, id: &str) -> Option<(i64, Arc<Flow>)> {
        let inner = self.inner.read();
        let number = *inner.current.get(id)?;
        let flow = inner.versions.get(id)?.get(&number)?.clone();
        Some((number, flow))
    }

    /// The flow `id` at version `version`: from memory, else from the store's published
    /// versions (a run enqueued by another process, or before this one started), which is then
    /// kept in memory. `None` when neither has it, or the stored text no longer parses.
    pub async fn get_or_load(&self, store: &Store, id: &str, version: i64) -> Option<Arc<Flow>> {
        if let Some(flow) = self.get(id, version) {
            return Some(flow);
        }
        let stored = match store.flow_version_by_number(id, version).await {
            Ok(stored) => stored?,
            Err(error) => {
                warn!(flow_id = id, %error, "Cannot read a flow version from the store.");
                return None;
            }
        };
        let label = std::path::PathBuf::from(format!("{id}@v{}", stored.seq));
        // Parsed without the catalog: it was checked when published, and running it needs only
        // its structure.
        match flow::parse_flow(&stored.yaml, &label, None) {
            Ok(flow) => {
                let number = self.insert_version(flow).ok()?;
                (number == version).then(|| self.get(id, version)).flatten()
            }
            Err(errors) => {
                warn!(flow_id = id, version = %stored.hash, problems = %errors, "A stored flow version no longer loads.");
                None
            }
        }
    }

    /// The current version of every flow, with its version number, by flow id.
    pub fn current(&self) -> Vec<(i64, Arc<Flow>)> {
        let inner = self.inner.read();
        inner
            .current
            .iter()
            .filter_map(|(id, number)| {
                let flow = inner.versions.get(id)?.get(number)?;
                Some((*number, flow.clone()))
            })
            .collect()
    }
}

/// What executing a run did to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every step finished (or a filter stopped the run); the run is done.
    Done,
    /// An attempt failed in a way a retry may fix; the run is due again at `at_ms`.
    Retry {
        /// When it is due, ms since epoch.
        at_ms: i64,
        /// Why this attempt failed.
        reason: String,
    },
    /// The run failed for good and is in the dead-letter queue.
    Dead {
        /// The step that failed, when a step did.
        step: Option<String>,
        /// Why, in words for a person.
        reason: String,
    },
    /// Another worker took the run over (this worker's lease expired); this worker dropped it.
    LeaseLost,
    /// The outcome could not be recorded (the store failed); the lease will expire and another
    /// attempt will resume from the journal.
    Abandoned {
        /// The store's error.
        reason: String,
    },
}

/// A step that failed: whether a retry may help, and why, in words.
#[derive(Debug, Clone)]
struct StepFailure {
    kind: ErrorKind,
    reason: String,
}

impl StepFailure {
    fn permanent(reason: impl Into<String>) -> Self {
        StepFailure {
            kind: ErrorKind::Permanent,
            reason: reason.into(),
        }
    }

    /// A store failure in the middle of a step leaves the run intact (the journal only grows),
    /// so it is retried whatever the store's own classification, rather than dead-lettering a
    /// healthy run because the database was busy.
    fn store(error: &tether_store::Error) -> Self {
        StepFailure {
            kind: ErrorKind::Transient,
            reason: format!("the store failed: {}", describe(error)),
        }
    }
}

/// How long the retry after failed attempt number `attempts` (from 1) waits: full jitter, a
/// uniform draw in `[0, min(cap, base × 2^(attempts-1))]`, but no less than [`BACKOFF_FLOOR`]
/// nor a throttling peer's `Retry-After`.
pub fn backoff(attempts: i64, kind: ErrorKind) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let ceiling = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(BACKOFF_CAP);
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    let jittered = Duration::from_millis(fastrand::u64(0..=ceiling_ms)).max(BACKOFF_FLOOR);
    match kind {
        ErrorKind::Throttled {
            retry_after: Some(retry_after),
        } => jittered.max(retry_after),
        _ => jittered,
    }
}

/// Executes `run`, which `worker` leased, at `now_ms` (the clock of retry scheduling), and
/// records its fate in the store: done, retry, or the dead-letter queue.
///
/// Finished steps in the run's journal are not executed again; their outputs are restored, so a
/// retried run resumes after its last finished step.
pub async fn execute_run(
    store: &Store,
    ops: &dyn Operations,
    flows: &FlowSet,
    run: &Run,
    worker: &str,
    now_ms: i64,
) -> Outcome {
    execute_run_with(store, ops, flows, run, None, worker, now_ms).await
}

/// [`execute_run`] given the run's trigger event when the caller read it already (a worker reads
/// the events of the runs it leased in one query); `None` reads it.
pub async fn execute_run_with(
    store: &Store,
    ops: &dyn Operations,
    flows: &FlowSet,
    run: &Run,
    event: Option<tether_store::Event>,
    worker: &str,
    now_ms: i64,
) -> Outcome {
    let Some(flow) = flows
        .get_or_load(store, &run.flow_id, run.flow_version)
        .await
    else {
        let reason = format!(
            "flow {:?} version {} is not loaded (the flow was changed or removed after this \
             run was enqueued); replay the dead letter with the current version",
            run.flow_id,
            version_hex(run.flow_version)
        );
        return dead_letter(store, run, worker, None, reason).await;
    };
    let mut failed_trace = StepTrace::default();
    let mut pending = Pending::new(run);
    match execute_steps(
        store,
        ops,
        &flow,
        run,
        event,
        &mut failed_trace,
        &mut pending,
    )
    .await
    {
        // What the last steps did and the run's completion commit together.
        Ok(()) => match pending.commit(store, run, Some(worker)).await {
            Ok(committed) if committed.lease_lost => Outcome::LeaseLost,
            Ok(_) => {
                info!(run_id = %run.id, flow_id = %flow.id, "Run done.");
                Outcome::Done
            }
            Err(error) => lost_or_abandoned(&error),
        },
        Err((step, failure)) => {
            if let Some(step_id) = &step {
                // History for `tether runs`; a failed entry never counts as finished, so the step
                // runs again on retry. Losing it to a store error loses only history.
                let output = json!({ "error": failure.reason, "kind": failure.kind.label() });
                pending.steps.push(NewStep {
                    step_id: step_id.clone(),
                    status: StepStatus::Failed,
                    output,
                    input: failed_trace.input.take(),
                    duration_ms: failed_trace.duration_ms,
                });
            }
            // The steps before the failed one (a filter, a map) are history too.
            if !pending.steps.is_empty()
                && let Err(error) = pending.commit(store, run, None).await
            {
                warn!(run_id = %run.id, error = %describe(&error), "Cannot journal a failed step.");
            }
            let giving_up = run.attempts >= MAX_ATTEMPTS;
            let on_error_dlq = step.as_deref().is_some_and(|step_id| {
                flow.steps.iter().any(|step| {
                    step.id == step_id
                        && matches!(
                            step.kind,
                            StepKind::Action {
                                on_error: OnError::Dlq,
                                ..
                            }
                        )
                })
            });
            if failure.kind == ErrorKind::Auth
                && let Some(connection) = step.as_deref().and_then(|step_id| {
                    flow.steps.iter().find_map(|step| match &step.kind {
                        StepKind::Action { connection, .. }
                        | StepKind::Lookup { connection, .. }
                            if step.id == step_id =>
                        {
                            Some(connection.as_str())
                        }
                        _ => None,
                    })
                })
            {
                // A person sees it on the connection (health `revoked`), not only in this run.
                crate::poller::credentials_refused(store, connection, &failure.reason).await;
            }
            if !failure.kind.is_retryable() || on_error_dlq {
                let reason = match failure.kind {
                    ErrorKind::Auth => format!(
                        "{} (the connection's credentials were refused: reconnect it, then \
                         replay)",
                        failure.reason
                    ),
                    _ => failure.reason,
                };
                dead_letter(store, run, worker, step.as_deref(), reason).await
            } else if giving_up {
                let reason = format!(
                    "gave up after {} attempts; the last failed: {}",
                    run.attempts, failure.reason
                );
                dead_letter(store, run, worker, step.as_deref(), reason).await
            } else {
                let delay = backoff(run.attempts, failure.kind);
                let at_ms =
                    now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                warn!(
                    run_id = %run.id, flow_id = %flow.id, attempts = run.attempts,
                    error = %failure.reason, "Run attempt failed; retrying later."
                );
                match store
                    .retry_run(run.id, worker, at_ms, &failure.reason)
                    .await
                {
                    Ok(()) => Outcome::Retry {
                        at_ms,
                        reason: failure.reason,
                    },
                    Err(error) => lost_or_abandoned(&error),
                }
            }
        }
    }
}

async fn dead_letter(
    store: &Store,
    run: &Run,
    worker: &str,
    step: Option<&str>,
    reason: String,
) -> Outcome {
    warn!(run_id = %run.id, flow_id = %run.flow_id, step, error = %reason, "Run dead-lettered.");
    match store.fail_run_to_dlq(run.id, worker, step, &reason).await {
        Ok(_) => Outcome::Dead {
            step: step.map(str::to_owned),
            reason,
        },
        Err(error) => lost_or_abandoned(&error),
    }
}

fn lost_or_abandoned(error: &tether_store::Error) -> Outcome {
    match error {
        tether_store::Error::LeaseLost { .. } => Outcome::LeaseLost,
        other => Outcome::Abandoned {
            reason: describe(other),
        },
    }
}

/// Runs the steps not journaled yet. On failure answers the failing step (none when the run
/// failed before any step) and why.
///
/// A step without effects outside (a filter, a map, a step skipped after a filter) is not
/// committed on its own: its journal row waits in `pending` for the next commit, which a lookup
/// or an action makes with its own row (an action's with its link and the release of its record
/// leases), or the run's completion (see [`execute_run`]); a run whose last step is an action
/// commits everything once. Such a step is a function of the event and of journaled outputs, so
/// a crash that loses its row only makes the next attempt compute it again, with the same result.
/// On failure the rows still pending stay in `pending`, for the failed step's history.
async fn execute_steps(
    store: &Store,
    ops: &dyn Operations,
    flow: &Flow,
    run: &Run,
    event: Option<tether_store::Event>,
    failed_trace: &mut StepTrace,
    pending: &mut Pending,
) -> Result<(), (Option<String>, StepFailure)> {
    let event = match event {
        Some(event) if event.id == run.event_id => event,
        _ => store
            .event(run.event_id)
            .await
            .map_err(|error| (None, StepFailure::store(&error)))?,
    };
    // The event's arrival is `now` for expressions, so every attempt evaluates the same way and
    // content hashes do not change between retries.
    let received = DateTime::<Utc>::from_timestamp_millis(event.received_at_ms).unwrap_or_default();
    let source = SourceRecord::of(&event.source, &event.kind, &event.payload);
    let mut context =
        Context::new(event.payload, received).with_flow(&flow.id, &flow.name, &flow.version);
    // A run leased for the first time has no journal (each lease counts an attempt), unless it
    // replays a dead letter, whose finished steps were copied into it.
    let journal = if run.attempts <= 1 && run.replay_of.is_none() {
        Vec::new()
    } else {
        store
            .journal(run.id)
            .await
            .map_err(|error| (None, StepFailure::store(&error)))?
    };
    let finished: BTreeMap<&str, (StepStatus, &Value)> = journal
        .iter()
        .filter(|entry| entry.status.is_finished())
        .map(|entry| (entry.step_id.as_str(), (entry.status, &entry.output)))
        .collect();
    let mut filtered = false;
    for (index, step) in flow.steps.iter().enumerate() {
        let fail = |failure: StepFailure| (Some(step.id.clone()), failure);
        if let Some((status, output)) = finished.get(step.id.as_str()) {
            if matches!(step.kind, StepKind::Filter { .. }) && !passed(output) {
                filtered = true;
            }
            if *status == StepStatus::Ok || matches!(step.kind, StepKind::Action { .. }) {
                set_output(&mut context, step, (*output).clone());
            }
            continue;
        }
        if filtered {
            pending.steps.push(NewStep {
                step_id: step.id.clone(),
                status: StepStatus::Skipped,
                output: json!({"filtered": true}),
                input: None,
                duration_ms: None,
            });
            continue;
        }
        let started = std::time::Instant::now();
        let mut trace = StepTrace::default();
        let mut effects = Effects::default();
        let result: Result<(StepStatus, Value), StepFailure> = async {
            Ok(match &step.kind {
                StepKind::Filter { when } => {
                    let value = expr::evaluate(when, &context).map_err(|error| {
                        StepFailure::permanent(format!(
                            "filter `{}` cannot be evaluated: {error}",
                            step.id
                        ))
                    })?;
                    let passes = expr::truthy(&value);
                    filtered = !passes;
                    (StepStatus::Ok, json!({ "passed": passes }))
                }
                StepKind::Map { fields } => {
                    let (record, problems) = expr::map_record(fields, &context);
                    if !problems.is_empty() {
                        let fields = problems
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ");
                        return Err(StepFailure::permanent(format!(
                            "map `{}` cannot map {} field(s): {fields}",
                            step.id,
                            problems.len()
                        )));
                    }
                    (StepStatus::Ok, record)
                }
                StepKind::Lookup {
                    operation,
                    connection,
                    input,
                    ..
                } => {
                    let input = evaluate_input(step.id.as_str(), input, &context)?;
                    trace.input = Some(input.clone());
                    let output =
                        ops.invoke(connection, operation, input)
                            .await
                            .map_err(|error| StepFailure {
                                kind: error.kind(),
                                reason: format!(
                                    "lookup `{}` ({operation} on {connection}) failed: {}",
                                    step.id, error.message
                                ),
                            })?;
                    (StepStatus::Ok, output)
                }
                StepKind::Action {
                    operation,
                    connection,
                    input: template,
                    match_on,
                    write,
                    ..
                } => {
                    let input = evaluate_input(step.id.as_str(), template, &context)?;
                    trace.input = Some(input.clone());
                    let action = ActionCall {
                        deps: sync::flow_input_dependencies(flow, index, template),
                        policies: write,
                        link_flow: format!("{}/{}", flow.id, step.id),
                        lease_owner: record_lease_owner(run),
                        step_id: &step.id,
                        operation,
                        connection,
                        match_on: match_on.as_ref(),
                    };
                    action
                        .execute(store, ops, &context, source.as_ref(), input, &mut effects)
                        .await?
                }
            })
        }
        .await;
        trace.duration_ms = Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX));
        let (status, output) = match result {
            Ok(done) => done,
            Err(failure) => {
                *failed_trace = trace;
                return Err(fail(failure));
            }
        };
        pending.steps.push(NewStep {
            step_id: step.id.clone(),
            status,
            output,
            input: trace.input,
            duration_ms: trace.duration_ms,
        });
        let last = index + 1 == flow.steps.len();
        let recorded = match &step.kind {
            // Without effects outside: its row rides on the next commit.
            StepKind::Filter { .. } | StepKind::Map { .. } => None,
            // The last action's row, link and leases commit with the run's completion.
            StepKind::Action { .. } if last => {
                pending.keep(effects);
                None
            }
            StepKind::Lookup { .. } | StepKind::Action { .. } => {
                pending.keep(effects);
                let committed = pending
                    .commit(store, run, None)
                    .await
                    .map_err(|error| fail(StepFailure::store(&error)))?;
                // The row that stands: another worker's, when it finished the step first.
                committed.steps.into_iter().last().map(|row| row.output)
            }
        };
        let output = match recorded {
            Some(output) => output,
            None => pending
                .steps
                .last()
                .map(|row| row.output.clone())
                .unwrap_or_default(),
        };
        set_output(&mut context, step, output);
    }
    Ok(())
}

/// A run's writes not committed yet (see [`execute_steps`]).
#[derive(Debug)]
struct Pending {
    /// Journal rows, in step order.
    steps: Vec<NewStep>,
    /// The link the last action keeps, and whether the run records that its step wrote it.
    link: Option<(Link, Option<String>)>,
    /// Record leases the actions hold until their links are committed.
    held: Vec<String>,
    /// Who holds them: the run, on behalf of its worker.
    lease_owner: String,
}

impl Pending {
    fn new(run: &Run) -> Self {
        Pending {
            steps: Vec::new(),
            link: None,
            held: Vec::new(),
            lease_owner: record_lease_owner(run),
        }
    }

    /// Takes over what an action left to commit.
    fn keep(&mut self, effects: Effects) {
        if effects.link.is_some() {
            self.link = effects.link;
        }
        self.held.extend(effects.held);
    }

    /// Commits everything pending, with the run's completion for `complete`. On a store error
    /// nothing pending is kept (a retry computes it again) and the record leases are given back
    /// one by one, as far as the store lets.
    async fn commit(
        &mut self,
        store: &Store,
        run: &Run,
        complete: Option<&str>,
    ) -> Result<tether_store::StepsCommitted, tether_store::Error> {
        let committed = store
            .commit_steps(
                run.id,
                run.attempts,
                StepCommit {
                    steps: std::mem::take(&mut self.steps),
                    link: self.link.take(),
                    // Kept here too: on a store error they are given back one by one.
                    release: self.held.clone(),
                    lease_owner: self.lease_owner.clone(),
                    complete: complete.map(str::to_owned),
                },
            )
            .await;
        if committed.is_err() {
            for key in self.held.drain(..) {
                if let Err(error) = store.release_lease(&key, &self.lease_owner).await {
                    // The lease expires by itself; the record is only blocked until then.
                    warn!(error = %describe(&error), "Cannot release a record lease.");
                }
            }
        }
        self.held.clear();
        committed
    }
}

/// What an action leaves for its step's commit: the link to keep and the record leases held
/// until it is kept.
#[derive(Debug, Default)]
struct Effects {
    link: Option<(Link, Option<String>)>,
    held: Vec<String>,
}

/// Who holds an action's record leases: the run, on behalf of its worker, whose heartbeat keeps
/// them alive.
fn record_lease_owner(run: &Run) -> String {
    format!(
        "{}/run-{}",
        run.lease_owner.as_deref().unwrap_or("-"),
        run.id
    )
}

/// What a person reading a run sees of a step beside its result: its resolved input (a lookup's
/// or action's call input) and how long it took.
#[derive(Debug, Default)]
struct StepTrace {
    input: Option<Value>,
    duration_ms: Option<i64>,
}

/// Makes a step's output readable by the later steps: under its id, and a lookup's also under
/// its alias.
pub fn set_output(context: &mut Context, step: &flow::Step, output: Value) {
    if let StepKind::Lookup {
        alias: Some(alias), ..
    } = &step.kind
    {
        context.set_step_output(alias, output.clone());
    }
    context.set_step_output(&step.id, output);
}

fn evaluate_input(step_id: &str, input: &Value, context: &Context) -> Result<Value, StepFailure> {
    expr::evaluate_value(input, context).map_err(|error| {
        StepFailure::permanent(format!(
            "step `{step_id}` cannot build its input: input.{error}"
        ))
    })
}

/// A filter's journaled output says whether it passed; anything else counts as passed, so an
/// odd journal entry never silently drops a run's effects.
fn passed(output: &Value) -> bool {
    output
        .get("passed")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// The record that triggered a run, as links name it (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// The app (`ghl`).
    pub app: String,
    /// The record type (`contact`).
    pub record_type: String,
    /// The record id.
    pub id: String,
    /// The version of the record this event carries (its change time, ms since the epoch), when
    /// the payload tells: `dateUpdated` / `updated_at` of the record, else the webhook's
    /// `timestamp`. An action never lets an older version overwrite a newer one.
    pub version: Option<i64>,
}

impl SourceRecord {
    /// The source record of an event from `source` of `kind` carrying `payload`, when the
    /// payload names one.
    pub fn of(source: &str, kind: &str, payload: &Value) -> Option<Self> {
        let app = source
            .split(['.', ':'])
            .next()
            .filter(|app| !app.is_empty())?;
        let record_type = record_type(source, kind)?;
        let as_id = |value: &Value| match value {
            Value::String(text) if !text.is_empty() => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        };
        let id = payload
            .get("id")
            .and_then(as_id)
            .or_else(|| payload.get(&record_type)?.get("id").and_then(as_id))
            .or_else(|| payload.get("contactId").and_then(as_id))?;
        let version = ["dateUpdated", "updated_at"]
            .iter()
            .find_map(|field| {
                payload
                    .get(*field)
                    .or_else(|| payload.get(&record_type)?.get(*field))
                    .and_then(time_ms)
            })
            .or_else(|| payload.get("timestamp").and_then(time_ms));
        Some(SourceRecord {
            app: app.to_owned(),
            record_type,
            id,
            version,
        })
    }
}

/// How long an action waits for a record's lease held by another run before it gives up and
/// retries later: in one process the holder is usually done within milliseconds (a contact's
/// sync and its note's run upserting one customer), and a retry's backoff costs seconds.
const LEASE_WAIT: Duration = Duration::from_secs(2);

/// Takes the leases `keys` for a record write, all asked for at once, waiting up to
/// [`LEASE_WAIT`] while another run holds any of them. Answers the keys not held in the end
/// (none: all are held); those taken stay held either way, for the caller to give back.
async fn take_leases(
    store: &Store,
    keys: &[&str],
    owner: &str,
) -> Result<Vec<String>, tether_store::Error> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    let mut missing: Vec<&str> = keys.to_vec();
    loop {
        let now = tether_store::now_ms();
        let held = store
            .try_leases(&missing, owner, now, now.saturating_add(LINK_LEASE_MS))
            .await?;
        missing = missing
            .into_iter()
            .zip(held)
            .filter_map(|(key, held)| (!held).then_some(key))
            .collect();
        if missing.is_empty() || started.elapsed() + pause > LEASE_WAIT {
            return Ok(missing.into_iter().map(str::to_owned).collect());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Gives back every lease of `effects` (a failed step's), which then holds none.
async fn release_held(store: &Store, owner: &str, effects: &mut Effects) {
    for key in effects.held.drain(..) {
        if let Err(error) = store.release_lease(&key, owner).await {
            // The lease expires by itself; the record is only blocked until then.
            warn!(error = %describe(&error), "Cannot release a record lease.");
        }
    }
}

/// The lease of a create matching an app's `resource` by `field` = `value` (case ignored in
/// text), so two runs creating one record in the target take turns.
fn match_lease_key(id: &OperationId<'_>, field: &str, value: &Value) -> String {
    format!(
        "match:{}.{}.{}={}",
        id.app,
        id.resource,
        field,
        match value {
            Value::String(text) => text.to_lowercase(),
            other => other.to_string(),
        }
    )
}

/// A record time (see [`expr::parse_time`]) as ms since the epoch.
fn time_ms(value: &Value) -> Option<i64> {
    expr::parse_time(value.as_str()?).map(|time| time.timestamp_millis())
}

/// `ContactCreate` → `contact`, `customer.new` → `customer`; for another kind (`new`), the
/// resource of a polled source (`details_flowers.customer.new` → `customer`).
fn record_type(source: &str, kind: &str) -> Option<String> {
    if let Some((resource, _)) = kind.split_once('.') {
        return (!resource.is_empty()).then(|| resource.to_lowercase());
    }
    if kind.starts_with(char::is_uppercase) {
        let end = kind
            .char_indices()
            .skip(1)
            .find(|(_, character)| character.is_uppercase())
            .map_or(kind.len(), |(index, _)| index);
        return Some(kind[..end].to_lowercase());
    }
    source
        .split('.')
        .nth(1)
        .filter(|resource| !resource.is_empty())
        .map(str::to_lowercase)
}

/// SHA-256 of the canonical JSON (keys sorted) of `value`, in hex: the content hash of links.
pub fn content_hash(value: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(entries) => {
            let sorted: BTreeMap<&String, &Value> = entries.iter().collect();
            out.push('{');
            for (index, (key, item)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// An operation id split into its parts: `details_flowers.customer.create`.
struct OperationId<'a> {
    app: &'a str,
    resource: &'a str,
    verb: &'a str,
}

impl<'a> OperationId<'a> {
    fn parse(id: &'a str) -> Option<Self> {
        let (app, rest) = id.split_once('.')?;
        let (resource, verb) = rest.split_once('.')?;
        Some(OperationId {
            app,
            resource,
            verb,
        })
    }

    /// The update operation of the same resource and the input field naming the record, when
    /// the app has one Tether knows how to call: manifest apps' `<resource>.update` with their
    /// `id`, GHL's `contact.update` with `contactId`, and GHL's `note.update` / `task.update`
    /// with `noteId` / `taskId` (their create's input already names the `contactId` they also
    /// need).
    fn update(&self) -> Option<(String, &'static str)> {
        match (self.app, self.resource) {
            ("ghl", "contact") => Some(("ghl.contact.update".into(), "contactId")),
            ("ghl", "note") => Some(("ghl.note.update".into(), "noteId")),
            ("ghl", "task") => Some(("ghl.task.update".into(), "taskId")),
            ("ghl", _) => None,
            (app, resource) => Some((format!("{app}.{resource}.update"), "id")),
        }
    }

    /// Input fields that name the record's place rather than its content, sent with every
    /// update even when unchanged: a GHL note or task is addressed under its contact.
    fn address_fields(&self) -> &'static [&'static str] {
        match (self.app, self.resource) {
            ("ghl", "note" | "task") => &["contactId"],
            _ => &[],
        }
    }
}

/// One action step's call, with the link logic of the module docs.
struct ActionCall<'a> {
    link_flow: String,
    /// Who holds the record's lease: the run, so its own retry may take it again.
    lease_owner: String,
    step_id: &'a str,
    operation: &'a str,
    connection: &'a str,
    match_on: Option<&'a MatchSpec>,
    /// The trigger fields each input field is made from.
    deps: Arc<BTreeMap<String, Deps>>,
    /// The input fields' write policies (`write:`); a field not named is `always`.
    policies: &'a BTreeMap<String, WritePolicy>,
}

impl ActionCall<'_> {
    /// Calls the action. The link it keeps and the record leases it holds are left in `effects`
    /// for the step's commit, which gives the leases back once the link is stored; on failure it
    /// gives them back itself.
    async fn execute(
        &self,
        store: &Store,
        ops: &dyn Operations,
        context: &Context,
        source: Option<&SourceRecord>,
        input: Value,
        effects: &mut Effects,
    ) -> Result<(StepStatus, Value), StepFailure> {
        let Some(id) = OperationId::parse(self.operation) else {
            return Err(StepFailure::permanent(format!(
                "action `{}`: {:?} is not an operation id",
                self.step_id, self.operation
            )));
        };
        let creates = matches!(id.verb, "create" | "upsert");
        if !creates && self.match_on.is_none() {
            // Updates, deletes and other actions name their record themselves; repeating them
            // with the same input has the same effect.
            let output = self.call(ops, self.operation, input).await?;
            return Ok((StepStatus::Ok, output));
        }
        let Some(source) = source else {
            warn!(
                step = self.step_id,
                operation = self.operation,
                "The trigger names no source record; the action runs without a link."
            );
            let output = match self
                .create_or_match(store, ops, context, &id, input, effects)
                .await?
            {
                Written::Nothing { output } | Written::Skipped { output } => output,
                Written::Fields { output, .. } => output,
            };
            return Ok((StepStatus::Ok, output));
        };
        // Two runs for one record (a create and its update arriving together) must not both
        // find no link and both create: the record's lease makes link-read-to-link-write
        // single-flight, across workers and processes sharing the store.
        let lease_key = format!(
            "link:{}:{}:{}:{}",
            self.link_flow, source.app, source.record_type, source.id
        );
        // The match's lease, which a create without a link needs (see `create_or_match`), is
        // asked for together with the link's: one statement for both, in the same batch. When
        // the record turns out to be linked, it was held for nothing and goes back with the
        // step's commit.
        let match_lease = self.match_lease(&id, context);
        let mut keys = vec![lease_key.as_str()];
        keys.extend(match_lease.as_ref().map(|(key, _)| key.as_str()));
        let missing = take_leases(store, &keys, &self.lease_owner)
            .await
            .map_err(|error| StepFailure::store(&error))?;
        effects.held.extend(
            keys.iter()
                .filter(|key| !missing.iter().any(|other| other == *key))
                .map(|key| (*key).to_owned()),
        );
        if !missing.is_empty() {
            release_held(store, &self.lease_owner, effects).await;
            let reason = if missing.contains(&lease_key) {
                format!(
                    "action `{}`: another run is writing {} {} {} right now",
                    self.step_id, source.app, source.record_type, source.id
                )
            } else {
                let value = match_lease
                    .as_ref()
                    .map_or(&Value::Null, |(_, value)| value);
                self.match_busy(&id, value)
            };
            return Err(StepFailure {
                kind: ErrorKind::Transient,
                reason,
            });
        }
        let result = self
            .execute_linked(store, ops, context, source, &id, input, effects)
            .await;
        if result.is_err() {
            effects.link = None;
            release_held(store, &self.lease_owner, effects).await;
        }
        result
    }

    #[allow(clippy::too_many_arguments, reason = "one private call site")]
    async fn execute_linked(
        &self,
        store: &Store,
        ops: &dyn Operations,
        context: &Context,
        source: &SourceRecord,
        id: &OperationId<'_>,
        input: Value,
        effects: &mut Effects,
    ) -> Result<(StepStatus, Value), StepFailure> {
        let stored = |error: tether_store::Error| StepFailure::store(&error);
        let hash = content_hash(&input);
        // This flow's link from the record, and every link (of any flow) that wrote into it:
        // what Tether put there.
        let (link, into_source) = store
            .links_of_record(
                &self.link_flow,
                &source.app,
                &source.record_type,
                &source.id,
            )
            .await
            .map_err(stored)?;
        if let Some(link) = &link
            && let (Some(written), Some(version)) = (link.source_version, source.version)
            && version < written
        {
            // A newer version of the record was written already (this event was delivered
            // late, or a reconciliation poll raced its webhook): writing it would go back in time.
            return Ok((
                StepStatus::Skipped,
                json!({ "unchanged": true, "stale": true, "id": link.target_id }),
            ));
        }
        let own_state = link.as_ref().and_then(SyncState::of);
        let written_into: Vec<SyncState> = into_source.iter().filter_map(SyncState::of).collect();
        let record = &context.as_json()["trigger"];
        let changed =
            sync::changed_fields(record, source.version, own_state.as_ref(), &written_into);
        let now = tether_store::now_ms();
        let mut state = own_state.unwrap_or_default();
        state.see(record, now);
        // The target: this action's own link, else the id map read backwards (the record this
        // source was written from, when it is of the type this action writes).
        let target_id = link
            .as_ref()
            .map(|link| link.target_id.clone())
            .or_else(|| {
                into_source
                    .iter()
                    .find(|other| other.source_app == id.app && other.source_type == id.resource)
                    .map(|other| other.source_id.clone())
            });
        let unchanged_content = link.as_ref().is_some_and(|link| link.content_hash == hash);
        let outcome = if changed.is_empty() || unchanged_content {
            // Nothing Tether did not write itself has changed (an echo, or the same event
            // again): no write, in either direction.
            let why = if unchanged_content {
                "the input is what this action wrote last time"
            } else {
                "no field of the record changed since Tether last read or wrote it"
            };
            Written::Nothing {
                output: json!({ "unchanged": true, "id": target_id, "why": why }),
            }
        } else if let Some(target_id) = &target_id {
            self.update_known(store, ops, id, target_id, input, &changed, &state.written)
                .await?
        } else {
            self.create_or_match(store, ops, context, id, input, effects)
                .await?
        };
        let (status, output, target_id) = match outcome {
            Written::Nothing { output } => {
                if let (Some(target_id), Some(existing)) = (&target_id, &link) {
                    // Remember what was read, so the next change compares with this one.
                    let link = Link {
                        target_id: target_id.clone(),
                        source_version: existing.source_version.max(source.version),
                        updated_at_ms: now,
                        sync_state: Some(state.to_json()),
                        ..existing.clone()
                    };
                    effects.link = Some((link, None));
                } else if let Some(target_id) = &target_id {
                    self.keep_link(effects, source, id, target_id, hash, None, &state);
                }
                return Ok((StepStatus::Skipped, output));
            }
            Written::Skipped { output } => return Ok((StepStatus::Skipped, output)),
            Written::Fields {
                output,
                target_id: known_target,
                fields,
            } => {
                state.wrote(&fields, now);
                if let Some(version) = sync::answered_version(&output, id.resource) {
                    state.target_version = Some(version);
                }
                let target_id = known_target.or_else(|| record_id(&output, id.resource));
                (StepStatus::Ok, output, target_id)
            }
        };
        match target_id {
            Some(target_id) => {
                let previous = link.as_ref().and_then(|link| link.source_version);
                self.keep_link(effects, source, id, &target_id, hash, previous, &state);
            }
            None => warn!(
                step = self.step_id,
                operation = self.operation,
                "The action's output names no record id; no link is kept."
            ),
        }
        Ok((status, output))
    }

    /// Leaves this action's link for `source` → `target_id` to the step's commit, which also
    /// records that the run wrote it (its detail, a search by the target record).
    #[allow(
        clippy::too_many_arguments,
        reason = "one private call site per outcome"
    )]
    fn keep_link(
        &self,
        effects: &mut Effects,
        source: &SourceRecord,
        id: &OperationId<'_>,
        target_id: &str,
        hash: String,
        previous_version: Option<i64>,
        state: &SyncState,
    ) {
        let link = Link {
            flow_id: self.link_flow.clone(),
            source_app: source.app.clone(),
            source_type: source.record_type.clone(),
            source_id: source.id.clone(),
            target_app: id.app.to_owned(),
            target_type: id.resource.to_owned(),
            target_id: target_id.to_owned(),
            content_hash: hash,
            updated_at_ms: tether_store::now_ms(),
            source_version: previous_version.max(source.version),
            sync_state: Some(state.to_json()),
        };
        effects.link = Some((link, Some(self.step_id.to_owned())));
    }

    /// The target is known (this action's link, or the id map read backwards): writes only the
    /// input fields that the change reaches, under their policies, and only where the target is
    /// not known to hold the value already.
    #[allow(clippy::too_many_arguments, reason = "one private call site")]
    async fn update_known(
        &self,
        store: &Store,
        ops: &dyn Operations,
        id: &OperationId<'_>,
        target_id: &str,
        input: Value,
        changed: &sync::Changed,
        last_written: &BTreeMap<String, sync::Known>,
    ) -> Result<Written, StepFailure> {
        let stored = |error: tether_store::Error| StepFailure::store(&error);
        let Some((update, id_field)) = id.update() else {
            // The record exists and this app's update is not known: creating again would
            // duplicate it, so the step records that it left it alone.
            return Ok(Written::Skipped {
                output: json!({ "unchanged": false, "id": target_id,
                                "why": format!("{} records cannot be updated by Tether yet", id.resource) }),
            });
        };
        let read_by = store
            .find_links_by_source(id.app, id.resource, target_id)
            .await
            .map_err(stored)?;
        let written_by = store
            .find_link_by_target(id.app, id.resource, target_id)
            .await
            .map_err(stored)?;
        let read_states: Vec<SyncState> = read_by.iter().filter_map(SyncState::of).collect();
        let written_states: Vec<SyncState> = written_by.iter().filter_map(SyncState::of).collect();
        let known = sync::known_fields(&read_states, &written_states);
        let Value::Object(fields) = input else {
            return Ok(Written::Nothing {
                output: json!({ "unchanged": true, "id": target_id }),
            });
        };
        let holds = |name: &str| known.get(name).map(|known| &known.0);
        let address = fields.clone();
        let to_write: Map<String, Value> = fields
            .into_iter()
            .filter(|(name, value)| {
                // A field is reached when the change touches what it is made from, or when it
                // now renders otherwise than this action last wrote it (which also covers what
                // the expression analysis cannot see through).
                let reached = self
                    .deps
                    .get(name)
                    .is_none_or(|deps| deps.touched_by(changed))
                    || last_written
                        .get(name)
                        .is_some_and(|written| written.0 != *value);
                let allowed = match self.policies.get(name).copied().unwrap_or_default() {
                    WritePolicy::Always => true,
                    WritePolicy::Never => false,
                    // Unknown is not empty: a field Tether never saw is not overwritten.
                    WritePolicy::IfEmpty => {
                        known.contains_key(name.as_str()) && sync::is_empty(holds(name))
                    }
                };
                reached && allowed && holds(name) != Some(value)
            })
            .filter(|(name, _)| name != "createNewIfDuplicateAllowed")
            .collect();
        if to_write.is_empty() {
            return Ok(Written::Nothing {
                output: json!({ "unchanged": true, "id": target_id,
                                "why": "the fields this change reaches hold these values already" }),
            });
        }
        let call_input = with_id(
            with_address(id, &address, to_write.clone()),
            id_field,
            target_id,
        );
        let output = self.call(ops, &update, call_input).await?;
        Ok(Written::Fields {
            output,
            target_id: Some(target_id.to_owned()),
            fields: to_write,
        })
    }

    /// No link yet: look the target up by the match field and update it, else create.
    ///
    /// The lookup-then-create is single-flight per target match value (a store lease on
    /// `match:<app>.<resource>.<field>=<value>`): two *different* flows (or steps) writing the same
    /// target — a contact's sync and its first note both upserting the customer — would otherwise
    /// both find nothing and both create. The source-record lease cannot cover that, because each
    /// flow links its own source. The lease is held until the step's commit stores the link
    /// (`effects`), so the next writer finds the record by its link or by the match.
    async fn create_or_match(
        &self,
        store: &Store,
        ops: &dyn Operations,
        context: &Context,
        id: &OperationId<'_>,
        input: Value,
        effects: &mut Effects,
    ) -> Result<Written, StepFailure> {
        let input = self.without_never(input);
        let Some(match_on) = self.match_on else {
            if id.app == "ghl" && id.resource == "contact" && self.guards_existing_fields() {
                // GHL's upsert would overwrite whatever a matching contact holds; with fields
                // that must not be overwritten, the contact is found first and updated field by
                // field instead.
                if let Some(found) = self.find_ghl_duplicate(ops, &input).await? {
                    return self.update_found(ops, id, &found, input).await;
                }
            }
            return self.write_all(ops, self.operation, input).await;
        };
        if id.app == "ghl" && !(id.resource == "contact" && match_on.field == "tags") {
            // GHL's upsert matches by e-mail or phone itself, following the location's duplicate
            // settings; it is the match.
            let operation = if id.resource == "contact" {
                "ghl.contact.upsert"
            } else {
                self.operation
            };
            if id.resource == "contact"
                && self.guards_existing_fields()
                && let Some(found) = self.find_ghl_duplicate(ops, &input).await?
            {
                return self.update_found(ops, id, &found, input).await;
            }
            return self.write_all(ops, operation, input).await;
        }
        let value = expr::evaluate(&match_on.value, context).map_err(|error| {
            StepFailure::permanent(format!(
                "action `{}` cannot evaluate match.value: {error}",
                self.step_id
            ))
        })?;
        let lease_key = match_lease_key(id, &match_on.field, &value);
        if effects.held.contains(&lease_key) {
            // Taken with the link's lease (`execute`), which gives it back if this fails.
            return self
                .find_then_write(ops, id, &match_on.field, value, input)
                .await;
        }
        let missing = take_leases(store, &[lease_key.as_str()], &self.lease_owner)
            .await
            .map_err(|error| StepFailure::store(&error))?;
        if !missing.is_empty() {
            return Err(StepFailure {
                kind: ErrorKind::Transient,
                reason: self.match_busy(id, &value),
            });
        }
        let result = self
            .find_then_write(ops, id, &match_on.field, value, input)
            .await;
        if result.is_ok() {
            effects.held.push(lease_key);
        } else if let Err(error) = store.release_lease(&lease_key, &self.lease_owner).await {
            warn!(error = %describe(&error), "Cannot release a match lease.");
        }
        result
    }

    /// The match's lease key and value, when a create of this action matches by a field through
    /// a lease of its own (`create_or_match`; GHL's upsert matches by itself), and its value
    /// evaluates (when it does not, `create_or_match` says why).
    fn match_lease(&self, id: &OperationId<'_>, context: &Context) -> Option<(String, Value)> {
        let match_on = self.match_on?;
        if id.app == "ghl" && !(id.resource == "contact" && match_on.field == "tags") {
            return None;
        }
        let value = expr::evaluate(&match_on.value, context).ok()?;
        Some((match_lease_key(id, &match_on.field, &value), value))
    }

    /// Why a create waits: another run holds the lease of its match's `value`.
    fn match_busy(&self, id: &OperationId<'_>, value: &Value) -> String {
        let field = self.match_on.map_or("", |match_on| match_on.field.as_str());
        format!(
            "action `{}`: another run is writing the {} whose {field} is {value} right now",
            self.step_id, id.resource
        )
    }

    /// Whether an input field has a policy that depends on what the target holds.
    fn guards_existing_fields(&self) -> bool {
        self.policies
            .values()
            .any(|policy| *policy == WritePolicy::IfEmpty)
    }

    /// `input` without its `never` fields.
    fn without_never(&self, input: Value) -> Value {
        match input {
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .filter(|(name, _)| self.policies.get(name) != Some(&WritePolicy::Never))
                    .collect(),
            ),
            other => other,
        }
    }

    /// Calls `operation` with the whole input: a new record, or an app that matches by itself.
    async fn write_all(
        &self,
        ops: &dyn Operations,
        operation: &str,
        input: Value,
    ) -> Result<Written, StepFailure> {
        let output = self.call(ops, operation, input.clone()).await?;
        Ok(Written::Fields {
            output,
            target_id: None,
            fields: match input {
                Value::Object(fields) => fields,
                _ => Map::new(),
            },
        })
    }

    /// The GHL contact the location's duplicate rules match for the input's e-mail or phone.
    async fn find_ghl_duplicate(
        &self,
        ops: &dyn Operations,
        input: &Value,
    ) -> Result<Option<Value>, StepFailure> {
        let mut query = Map::new();
        for field in ["email", "phone"] {
            if let Some(value) = input
                .get(field)
                .filter(|value| !sync::is_empty(Some(value)))
            {
                query.insert(field.to_owned(), value.clone());
            }
        }
        if query.is_empty() {
            return Ok(None);
        }
        let found = self
            .call(ops, "ghl.contact.find_duplicate", Value::Object(query))
            .await?;
        Ok(found
            .get("contact")
            .filter(|contact| contact.is_object())
            .cloned())
    }

    /// Updates the record `found` (as the app answered it) with the input fields it does not
    /// hold already, under their policies; writes nothing when it holds them all.
    async fn update_found(
        &self,
        ops: &dyn Operations,
        id: &OperationId<'_>,
        found: &Value,
        input: Value,
    ) -> Result<Written, StepFailure> {
        let Some(existing) = record_id(found, id.resource) else {
            return self.write_all(ops, self.operation, input).await;
        };
        let Some((update, id_field)) = id.update() else {
            return self.write_all(ops, self.operation, input).await;
        };
        let Value::Object(fields) = input else {
            return self.write_all(ops, self.operation, input).await;
        };
        let address = fields.clone();
        let to_write: Map<String, Value> = fields
            .into_iter()
            .filter(|(name, value)| {
                let holds = found.get(name);
                let allowed = match self.policies.get(name).copied().unwrap_or_default() {
                    WritePolicy::Always => true,
                    WritePolicy::Never => false,
                    WritePolicy::IfEmpty => sync::is_empty(holds),
                };
                allowed && holds != Some(value) && name != "createNewIfDuplicateAllowed"
            })
            .collect();
        if to_write.is_empty() {
            // The record holds this already: its answer stands for the step's output.
            return Ok(Written::Fields {
                output: found.clone(),
                target_id: Some(existing),
                fields: Map::new(),
            });
        }
        let call_input = with_id(
            with_address(id, &address, to_write.clone()),
            id_field,
            &existing,
        );
        let output = self.call(ops, &update, call_input).await?;
        Ok(Written::Fields {
            output,
            target_id: Some(existing),
            fields: to_write,
        })
    }

    /// Looks the target up by `field` = `value`; updates the first found, else creates.
    async fn find_then_write(
        &self,
        ops: &dyn Operations,
        id: &OperationId<'_>,
        field: &str,
        value: Value,
        input: Value,
    ) -> Result<Written, StepFailure> {
        let (find, query, list) = finder(id, field, value);
        let found = self.call(ops, &find, query).await?;
        match found
            .get(list)
            .and_then(Value::as_array)
            .and_then(|items| items.first())
        {
            Some(existing) => self.update_found(ops, id, existing, input).await,
            None => self.write_all(ops, self.operation, input).await,
        }
    }

    async fn call(
        &self,
        ops: &dyn Operations,
        operation: &str,
        input: Value,
    ) -> Result<Value, StepFailure> {
        ops.invoke(self.connection, operation, input)
            .await
            .map_err(|error| StepFailure {
                kind: error.kind(),
                reason: format!(
                    "action `{}` ({operation} on {}) failed: {}",
                    self.step_id, self.connection, error.message
                ),
            })
    }
}

/// What an action's call did to its target.
enum Written {
    /// Nothing was written: no change reached the target, or it holds the values already.
    Nothing {
        /// The step's output.
        output: Value,
    },
    /// Nothing was written and no link is kept (the app cannot update the record).
    Skipped {
        /// The step's output.
        output: Value,
    },
    /// These input fields were written (none: a found record held them all already).
    Fields {
        /// The app's answer, or the found record.
        output: Value,
        /// The record written, when known before the answer.
        target_id: Option<String>,
        /// The fields written.
        fields: Map<String, Value>,
    },
}

/// The operation that finds a target record by `field` = `value`, its input, and the field of
/// its answer listing what it found: `<app>.<resource>.find_by_<field>` (`items`), or for GHL
/// contacts matched by a tag (records of apps without e-mail, such as Flickr users, tagged
/// `flickr:<nsid>`) a `ghl.contact.search` for contacts carrying that tag (`contacts`).
fn finder(id: &OperationId<'_>, field: &str, value: Value) -> (String, Value, &'static str) {
    if id.app == "ghl" && id.resource == "contact" && field == "tags" {
        let query = json!({
            "filters": [{ "field": "tags", "operator": "eq", "value": value }],
            "pageLimit": 1,
        });
        return ("ghl.contact.search".into(), query, "contacts");
    }
    let mut query = Map::new();
    query.insert(field.to_owned(), value);
    (
        format!("{}.{}.find_by_{}", id.app, id.resource, field),
        Value::Object(query),
        "items",
    )
}

/// The fields to write plus the update's address fields ([`OperationId::address_fields`]) taken
/// from the whole input.
fn with_address(
    id: &OperationId<'_>,
    input: &Map<String, Value>,
    mut to_write: Map<String, Value>,
) -> Value {
    for name in id.address_fields() {
        if let Some(value) = input.get(*name) {
            to_write.insert((*name).to_owned(), value.clone());
        }
    }
    Value::Object(to_write)
}

/// `input` with the record's id set and the create-only `createNewIfDuplicateAllowed` of GHL's
/// upsert removed (an update does not take it).
fn with_id(input: Value, id_field: &str, id: &str) -> Value {
    let mut fields = match input {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    fields.remove("createNewIfDuplicateAllowed");
    fields.insert(id_field.to_owned(), Value::String(id.to_owned()));
    Value::Object(fields)
}

/// The id of the record an operation answered: `id`, or `<resource>.id` (GHL wraps records,
/// `{"contact": {...}}`).
fn record_id(output: &Value, resource: &str) -> Option<String> {
    let as_id = |value: &Value| match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    output
        .get("id")
        .and_then(as_id)
        .or_else(|| output.get(resource)?.get("id").and_then(as_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_become_64_bit_numbers_and_back() {
        assert_eq!(version_number("0000000000000001"), Some(1));
        assert_eq!(version_number("ffffffffffffffff"), Some(-1));
        for version in ["0123456789abcdef", "fedcba9876543210", "0000000000000000"] {
            assert_eq!(version_hex(version_number(version).unwrap()), version);
        }
        assert_eq!(version_number("short"), None);
        assert_eq!(version_number("0123456789abcdef0"), None);
        assert_eq!(version_number("zzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn a_run_queued_with_a_60_bit_number_finds_its_flow() {
        let full = version_number("fedcba9876543210").unwrap();
        assert!(is_legacy_number(0x0fed_cba9_8765_4321, full));
        assert!(!is_legacy_number(0x0fed_cba9_8765_4322, full));
        assert!(!is_legacy_number(full, full));
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for attempts in 1..=MAX_ATTEMPTS + 5 {
            let ceiling = BACKOFF_BASE
                .saturating_mul(2u32.pow(u32::try_from(attempts - 1).unwrap_or(0).min(20)))
                .min(BACKOFF_CAP);
            for _ in 0..50 {
                let wait = backoff(attempts, ErrorKind::Transient);
                assert!(wait <= ceiling && wait >= BACKOFF_FLOOR, "{wait:?}");
            }
        }
        let throttled = ErrorKind::Throttled {
            retry_after: Some(Duration::from_secs(30)),
        };
        assert!(backoff(1, throttled) >= Duration::from_secs(30));
    }

    #[test]
    fn source_records_come_from_the_payload() {
        let check =
            |source: &str, kind: &str, payload: Value, expected: Option<(&str, &str, &str)>| {
                let found = SourceRecord::of(source, kind, &payload);
                let expected = expected.map(|(app, record_type, id)| SourceRecord {
                    app: app.into(),
                    record_type: record_type.into(),
                    id: id.into(),
                    version: None,
                });
                assert_eq!(found, expected, "{source} {kind} {payload}");
            };
        check(
            "ghl.webhook",
            "ContactCreate",
            json!({"id": "c1"}),
            Some(("ghl", "contact", "c1")),
        );
        check(
            "ghl.webhook",
            "AppointmentCreate",
            json!({"appointment": {"id": "a1"}}),
            Some(("ghl", "appointment", "a1")),
        );
        check(
            "details_flowers.customer.new",
            "new",
            json!({"id": 7}),
            Some(("details_flowers", "customer", "7")),
        );
        check("ghl.webhook", "ContactCreate", json!({"email": "x"}), None);
    }

    #[test]
    fn linked_creates_become_the_apps_updates() {
        let check = |create: &str, expected: Option<(&str, &str)>| {
            let id = OperationId::parse(create).expect("an operation id");
            let update = id.update();
            assert_eq!(
                update.as_ref().map(|(op, field)| (op.as_str(), *field)),
                expected,
                "{create}"
            );
        };
        check(
            "ghl.contact.create",
            Some(("ghl.contact.update", "contactId")),
        );
        check("ghl.note.create", Some(("ghl.note.update", "noteId")));
        check("ghl.task.create", Some(("ghl.task.update", "taskId")));
        check("ghl.appointment.create", None);
        check(
            "details_flowers.customer.create",
            Some(("details_flowers.customer.update", "id")),
        );
    }

    #[test]
    fn ghl_contacts_matched_by_tag_are_searched_for() {
        let contact = OperationId::parse("ghl.contact.create").expect("an operation id");
        let (find, query, list) = finder(&contact, "tags", json!("flickr:1@n01"));
        assert_eq!((find.as_str(), list), ("ghl.contact.search", "contacts"));
        assert_eq!(query["filters"][0]["value"], "flickr:1@n01");
        let customer = OperationId::parse("details_flowers.customer.create").expect("an id");
        let (find, query, list) = finder(&customer, "email", json!("a@b.c"));
        assert_eq!(
            (find.as_str(), list),
            ("details_flowers.customer.find_by_email", "items")
        );
        assert_eq!(query, json!({"email": "a@b.c"}));
    }

    #[test]
    fn content_hash_ignores_key_order() {
        assert_eq!(
            content_hash(&json!({"a": 1, "b": [1, {"c": 2, "d": 3}]})),
            content_hash(&json!({"b": [1, {"d": 3, "c": 2}], "a": 1}))
        );
        assert_ne!(
            content_hash(&json!({"a": 1})),
            content_hash(&json!({"a": 2}))
        );
    }
}
