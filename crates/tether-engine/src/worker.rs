//! Workers and intake: [`intake`] turns a trigger event into durable runs (one per matching
//! flow), and a [`Worker`] leases due runs and executes them with bounded concurrency.
//!
//! Which flows an event starts is decided by its `source` and `kind`:
//! - a webhook flow (`webhook: { app: ghl, events: [...] }`) matches events whose source's first
//!   segment is its app (`ghl.webhook`) and whose kind is in its `events` list;
//! - a poll flow matches events whose source is what it polls (the operation
//!   `details_flowers.customer.new`, or the resource `ghl.contact`);
//! - a schedule flow matches the ticks the [`crate::scheduler`] records for it: source
//!   `schedule`, kind `tick`, key `<flow id>@<due time>`. The source does not say which flow, so
//!   [`trigger_matches`] (which sees no key) never matches a schedule flow; [`event_starts`] and
//!   [`intake`] read the flow id from the key.
//!
//! [`intake_for_flow`] starts one named flow whatever its trigger (`tether run FLOW`, source
//! `<app>.manual`): it enqueues that flow alone, whichever other flows the source and kind would
//! match, and the source's app keys the run's links as the trigger's own events would.
//!
//! **Origin.** A polled or fed record that is exactly what a write of Tether's left (its version is
//! the one the app answered that write with) is Tether's own write coming back: [`intake`] stores
//! the event but starts no run for it, so a sync cycle runs once per real change, not once per
//! record Tether wrote (see `docs/sync.md`).
//!
//! A webhook flow's `connection` is not compared with the event: the receiver knows which
//! connection a delivery belongs to and is expected to pass a source naming it only when more
//! than one account of an app is connected (not supported yet).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tether_store::{Event, EventInsert, NewEvent, Run, RunId, Store};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::executor::{FlowSet, Outcome, SourceRecord, execute_run, execute_run_with};
use crate::flow::{Flow, PollSource, TriggerSpec};
use crate::invoke::Operations;
use crate::scheduler;
use crate::sync::SyncState;

/// How long a worker holds a run before another worker may take it over, unless its heartbeat
/// extends the lease: a live [`Worker::run`] renews everything it holds every [`HEARTBEAT`], so a
/// run may take as long as its calls need, and a dead worker's runs are taken over within this.
pub const LEASE_FOR_MS: i64 = 30 * 1000;

/// How often a running worker extends its leases (a third of their length, so one missed beat
/// does not lose them).
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// How often an idle [`Worker::run`] looks for due runs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Whether `flow` runs for an event from `source` of `kind` (see the module docs).
pub fn trigger_matches(flow: &Flow, source: &str, kind: &str) -> bool {
    match &flow.trigger {
        TriggerSpec::Webhook { app, events, .. } => {
            source.split(['.', ':']).next() == Some(app.as_str())
                && events.iter().any(|event| event == kind)
        }
        TriggerSpec::Poll { source: polled, .. } => match polled {
            PollSource::Operation(name) | PollSource::Resource(name) => source == name,
        },
        // Which schedule flow a tick belongs to is in its key: see `event_starts`.
        TriggerSpec::Schedule { .. } => false,
    }
}

/// Whether `flow` runs for the event `event_key` from `source` of `kind`: [`trigger_matches`],
/// plus a schedule flow's own ticks (source `schedule`, kind `tick`, key `<flow id>@<time>`).
pub fn event_starts(flow: &Flow, source: &str, event_key: &str, kind: &str) -> bool {
    match &flow.trigger {
        TriggerSpec::Schedule { .. } => {
            source == scheduler::SOURCE
                && kind == scheduler::KIND
                && event_key
                    .rsplit_once('@')
                    .is_some_and(|(flow_id, _)| flow_id == flow.id)
        }
        _ => trigger_matches(flow, source, kind),
    }
}

/// The `(flow id, version number)` of every current flow an event of `kind` from `source` starts
/// (what the webhook server asks before storing an event with its runs).
pub fn starts(flows: &FlowSet, source: &str, kind: &str) -> Vec<(String, i64)> {
    flows
        .current()
        .into_iter()
        .filter(|(_, flow)| trigger_matches(flow, source, kind))
        .map(|(version, flow)| (flow.id.clone(), version))
        .collect()
}

/// The `(flow id, version number)` of every current flow the event `event_key` from `source` of
/// `kind` starts ([`event_starts`]).
pub fn starts_event(
    flows: &FlowSet,
    source: &str,
    event_key: &str,
    kind: &str,
) -> Vec<(String, i64)> {
    flows
        .current()
        .into_iter()
        .filter(|(_, flow)| event_starts(flow, source, event_key, kind))
        .map(|(version, flow)| (flow.id.clone(), version))
        .collect()
}

/// Which of `events` (`(source, kind, payload)`) carry a record exactly as a write of
/// Tether's left it: its version is the one the app answered that write with (see the module
/// docs). One query per app and record type among them.
async fn own_writes(
    store: &Store,
    events: &[(&str, &str, &Value)],
) -> Result<Vec<bool>, tether_store::Error> {
    let records: Vec<Option<(SourceRecord, i64)>> = events
        .iter()
        .map(|(source, kind, payload)| {
            let record = SourceRecord::of(source, kind, payload)?;
            let version = record.version?;
            Some((record, version))
        })
        .collect();
    let mut by_type: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for (record, _) in records.iter().flatten() {
        by_type
            .entry((record.app.as_str(), record.record_type.as_str()))
            .or_default()
            .push(record.id.as_str());
    }
    // Versions Tether's writes left, by target record.
    let mut written: HashMap<(String, String, String), Vec<i64>> = HashMap::new();
    for ((app, record_type), ids) in by_type {
        for link in store.find_links_by_targets(app, record_type, &ids).await? {
            if let Some(version) = SyncState::of(&link).and_then(|state| state.target_version) {
                written
                    .entry((link.target_app, link.target_type, link.target_id))
                    .or_default()
                    .push(version);
            }
        }
    }
    Ok(records
        .iter()
        .map(|record| {
            record.as_ref().is_some_and(|(record, version)| {
                written
                    .get(&(
                        record.app.clone(),
                        record.record_type.clone(),
                        record.id.clone(),
                    ))
                    .is_some_and(|versions| versions.contains(version))
            })
        })
        .collect())
}

/// Records an event and, in the same transaction, enqueues one run per flow of `flows` whose
/// trigger matches ([`event_starts`]), at the flow's current version. Answers whether the event
/// is new (`false` for a redelivery of the same `source` and `event_key`, which starts no second
/// run).
///
/// When this returns `Ok`, the event is durable: a webhook receiver may acknowledge it.
pub async fn intake(
    store: &Store,
    flows: &FlowSet,
    source: &str,
    event_key: &str,
    kind: &str,
    payload: &Value,
) -> Result<bool, tether_store::Error> {
    Ok(
        intake_counted(store, flows, source, event_key, kind, payload)
            .await?
            .new,
    )
}

/// What [`intake_counted`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Intake {
    /// The event is new (not a redelivery).
    pub new: bool,
    /// Runs it started (none for a redelivery, or for the echo of Tether's own write).
    pub runs: usize,
}

/// [`intake`], answering also how many runs the event started (for progress reports).
pub async fn intake_counted(
    store: &Store,
    flows: &FlowSet,
    source: &str,
    event_key: &str,
    kind: &str,
    payload: &Value,
) -> Result<Intake, tether_store::Error> {
    let taken = intake_many(
        store,
        flows,
        source,
        vec![(event_key.to_owned(), kind.to_owned(), payload.clone())],
    )
    .await?;
    Ok(taken.first().copied().unwrap_or_default())
}

/// [`intake_counted`] for many events of one `source`, given as `(event key, kind, payload)`:
/// they commit together (one transaction, one sync to disk), and each answer is in their order.
/// A poll's or feed's page goes in this way.
pub async fn intake_many(
    store: &Store,
    flows: &FlowSet,
    source: &str,
    events: Vec<(String, String, Value)>,
) -> Result<Vec<Intake>, tether_store::Error> {
    let received_at_ms = tether_store::now_ms();
    let matching: Vec<Vec<(String, i64)>> = events
        .iter()
        .map(|(event_key, kind, _)| starts_event(flows, source, event_key, kind))
        .collect();
    // Only events that would start runs are checked for Tether's own writes.
    let checked: Vec<(&str, &str, &Value)> = events
        .iter()
        .zip(&matching)
        .filter(|(_, runs)| !runs.is_empty())
        .map(|((_, kind, payload), _)| (source, kind.as_str(), payload))
        .collect();
    let mut own = own_writes(store, &checked).await?.into_iter();
    let mut batch = Vec::with_capacity(events.len());
    for ((event_key, kind, payload), mut runs) in events.into_iter().zip(matching) {
        if !runs.is_empty() && own.next().unwrap_or(false) {
            debug!(
                source,
                event_key, kind, "Tether's own write came back; it starts no run."
            );
            runs.clear();
        }
        batch.push(NewEvent {
            source: source.to_owned(),
            event_key,
            kind,
            payload,
            received_at_ms,
            flows: runs,
        });
    }
    let recorded = store.record_events(batch).await?;
    debug!(source, events = recorded.len(), "Events recorded.");
    Ok(recorded
        .into_iter()
        .map(|(inserted, run_ids)| {
            let new = matches!(inserted, EventInsert::New(_));
            Intake {
                new,
                runs: if new { run_ids.len() } else { 0 },
            }
        })
        .collect())
}

/// Records an event and, in the same transaction, enqueues one run of the flow `flow_id` at its
/// current version, whatever its trigger (for `tether run FLOW`). Answers whether the event is
/// new and the run's id, or `None` when no current flow has that id (nothing is stored then).
pub async fn intake_for_flow(
    store: &Store,
    flows: &FlowSet,
    flow_id: &str,
    source: &str,
    event_key: &str,
    kind: &str,
    payload: &Value,
) -> Result<Option<(bool, RunId)>, tether_store::Error> {
    let Some(version) = flows
        .current()
        .into_iter()
        .find(|(_, flow)| flow.id == flow_id)
        .map(|(version, _)| version)
    else {
        return Ok(None);
    };
    let (inserted, run_ids) = store
        .record_event_with_runs(
            source,
            event_key,
            kind,
            payload,
            tether_store::now_ms(),
            &[(flow_id, version)],
        )
        .await?;
    let run_id = *run_ids
        .first()
        .expect("the store answers one run per flow given, and one was given");
    debug!(source, event_key, kind, flow_id, %run_id, "Event recorded for one flow.");
    Ok(Some((matches!(inserted, EventInsert::New(_)), run_id)))
}

/// The event kind a run of `flow` sees when nothing else says: a webhook flow's first event
/// type, `tick` for a schedule, the polled operation's kind for a poll (`customer.new` of
/// `details_flowers.customer.new`; `contact.updated` of the resource `ghl.contact`, whose change
/// feed is its `updated` trigger, as the poller reads it).
pub fn default_event_kind(flow: &Flow) -> String {
    match &flow.trigger {
        TriggerSpec::Webhook { events, .. } => events.first().cloned().unwrap_or_default(),
        TriggerSpec::Schedule { .. } => scheduler::KIND.to_owned(),
        TriggerSpec::Poll { source, .. } => {
            let operation = match source {
                PollSource::Operation(name) => name.clone(),
                PollSource::Resource(name) => format!("{name}.updated"),
            };
            operation
                .split_once('.')
                .map_or(operation.as_str(), |(_, kind)| kind)
                .to_owned()
        }
    }
}

/// What [`Worker::run_until_idle`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdleReport {
    /// Runs that finished.
    pub done: usize,
    /// Attempts that failed and were scheduled again.
    pub retried: usize,
    /// Runs moved to the dead-letter queue.
    pub dead: usize,
    /// Runs dropped because another worker took them over, or whose outcome could not be
    /// recorded (they run again when their lease expires).
    pub dropped: usize,
}

/// Executes due runs: leases them from the store, runs each as a task, at most `concurrency`
/// at a time.
#[derive(Clone)]
pub struct Worker {
    /// Where runs live.
    pub store: Store,
    /// How operations are called.
    pub ops: Arc<dyn Operations>,
    /// The flows runs refer to.
    pub flows: FlowSet,
    /// This worker's name in leases; unique among the workers sharing the store.
    pub id: String,
    /// How many runs execute at once (at least 1).
    pub concurrency: usize,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker with a unique id (process id and a random suffix) and 8 runs at a time.
    pub fn new(store: Store, ops: Arc<dyn Operations>, flows: FlowSet) -> Self {
        Worker {
            store,
            ops,
            flows,
            id: format!("worker-{}-{:08x}", std::process::id(), fastrand::u32(..)),
            concurrency: 8,
        }
    }

    /// Leases and executes batches of runs until none is due at `now_fn()`; runs waiting for a
    /// later retry stay waiting. For tests and the demo: `now_fn` is the clock, so a test can
    /// move it past a retry's due time instead of sleeping.
    pub async fn run_until_idle(
        &self,
        now_fn: impl Fn() -> i64,
    ) -> Result<IdleReport, tether_store::Error> {
        let mut report = IdleReport::default();
        loop {
            let now = now_fn();
            let runs = self
                .store
                .lease_runs(&self.id, self.concurrency.max(1), now, LEASE_FOR_MS)
                .await?;
            if runs.is_empty() {
                return Ok(report);
            }
            let mut tasks = JoinSet::new();
            for run in runs {
                let worker = self.clone();
                tasks.spawn(async move {
                    execute_run(
                        &worker.store,
                        worker.ops.as_ref(),
                        &worker.flows,
                        &run,
                        &worker.id,
                        now,
                    )
                    .await
                });
            }
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok(outcome) => tally(&mut report, &outcome),
                    // A panicking run is dropped; its lease expires and it runs again.
                    Err(error) => {
                        warn!(worker = %self.id, %error, "A run task failed.");
                        report.dropped += 1;
                    }
                }
            }
        }
    }

    /// Leases the run `run_id` (when it is due at `now_ms` and no other worker holds it) and
    /// executes it; answers its outcome, or `None` when it could not be leased. Other due runs
    /// are left to the workers that serve them (`tether run` executes its one run this way).
    pub async fn run_one(
        &self,
        run_id: RunId,
        now_ms: i64,
    ) -> Result<Option<Outcome>, tether_store::Error> {
        let Some(run) = self
            .store
            .lease_run(run_id, &self.id, now_ms, LEASE_FOR_MS)
            .await?
        else {
            return Ok(None);
        };
        let outcome = execute_run(
            &self.store,
            self.ops.as_ref(),
            &self.flows,
            &run,
            &self.id,
            now_ms,
        )
        .await;
        Ok(Some(outcome))
    }

    /// Leases up to `n` due runs and reads their events in one query (a run whose event could
    /// not be read reads it itself). A store failure is logged and leases nothing.
    async fn lease_ahead(&self, n: usize, now: i64) -> Vec<(Run, Option<Event>)> {
        let runs = match self.store.lease_runs(&self.id, n, now, LEASE_FOR_MS).await {
            Ok(runs) => runs,
            Err(error) => {
                warn!(worker = %self.id, %error, "Cannot lease runs.");
                return Vec::new();
            }
        };
        let ids: Vec<_> = runs.iter().map(|run| run.event_id).collect();
        let events: HashMap<_, _> = match self.store.events(&ids).await {
            Ok(events) => events.into_iter().map(|event| (event.id, event)).collect(),
            Err(error) => {
                debug!(worker = %self.id, %error, "Cannot read the leased runs' events.");
                HashMap::new()
            }
        };
        runs.into_iter()
            .map(|run| {
                let event = events.get(&run.event_id).cloned();
                (run, event)
            })
            .collect()
    }

    /// Leases and executes runs until `shutdown` is cancelled, then waits for the runs in flight
    /// (each call has a deadline) and returns. Looks for due runs every [`POLL_INTERVAL`] while
    /// idle, and again as soon as a run finishes.
    ///
    /// Runs are leased [`Worker::concurrency`] at a time, ahead of need: a run that finishes is
    /// replaced from the ones leased already, not by a lease of its own (one statement and commit
    /// per batch, not per run). The next batch is leased while the runs go on, as soon as half
    /// of the ones ahead have started, so a finished run never waits for a lease to commit. The
    /// heartbeat keeps the waiting ones' leases alive as it does the running ones'; on shutdown
    /// they are given back, due at once, for any worker.
    pub async fn run(&self, shutdown: CancellationToken) {
        let concurrency = self.concurrency.max(1);
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let mut ahead: VecDeque<(Run, Option<Event>)> = VecDeque::new();
        // The lease of the next runs, while it is being committed.
        let mut leasing: Option<BoxFuture<'_, Leased>> = None;
        // Whether to look for due runs: not again after a lease found fewer than it asked for,
        // until a run finishes or the poll interval passes.
        let mut look = true;
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !shutdown.is_cancelled() {
            if look && leasing.is_none() && ahead.len() <= concurrency / 2 {
                let wanted = concurrency - ahead.len();
                leasing = Some(
                    self.lease_ahead(wanted, tether_store::now_ms())
                        .map(move |runs| Leased { wanted, runs })
                        .boxed(),
                );
            }
            while tasks.len() < concurrency
                && let Some((run, event)) = ahead.pop_front()
            {
                let worker = self.clone();
                tasks.spawn(async move {
                    execute_run_with(
                        &worker.store,
                        worker.ops.as_ref(),
                        &worker.flows,
                        &run,
                        event,
                        &worker.id,
                        tether_store::now_ms(),
                    )
                    .await
                });
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                Some(leased) = async {
                    match leasing.as_mut() {
                        Some(lease) => Some(lease.await),
                        None => None,
                    }
                }, if leasing.is_some() => {
                    leasing = None;
                    look = leased.runs.len() >= leased.wanted;
                    ahead.extend(leased.runs);
                }
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    look = true;
                    if let Err(error) = joined {
                        warn!(worker = %self.id, %error, "A run task failed.");
                    }
                }
                () = tokio::time::sleep(POLL_INTERVAL) => look = true,
                _ = heartbeat.tick() => {
                    let until = tether_store::now_ms() + LEASE_FOR_MS;
                    if let Err(error) = self.store.renew_leases(&self.id, until).await {
                        warn!(worker = %self.id, %error, "Cannot renew the worker's leases.");
                    }
                }
            }
        }
        // A lease being committed is waited for, so its runs are given back too.
        if let Some(lease) = leasing.take() {
            ahead.extend(lease.await.runs);
        }
        let never_started: Vec<RunId> = ahead.iter().map(|(run, _)| run.id).collect();
        if let Err(error) = self.store.give_back_runs(&self.id, &never_started).await {
            warn!(
                worker = %self.id, %error,
                "Cannot give back runs leased ahead; they are taken over when their leases expire."
            );
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(error) = joined {
                warn!(worker = %self.id, %error, "A run task failed.");
            }
        }
    }
}

/// Runs leased ahead by [`Worker::run`], and how many it asked for.
struct Leased {
    wanted: usize,
    runs: Vec<(Run, Option<Event>)>,
}

fn tally(report: &mut IdleReport, outcome: &Outcome) {
    match outcome {
        Outcome::Done => report.done += 1,
        Outcome::Retry { .. } => report.retried += 1,
        Outcome::Dead { .. } => report.dead += 1,
        Outcome::LeaseLost | Outcome::Abandoned { .. } => report.dropped += 1,
    }
}
