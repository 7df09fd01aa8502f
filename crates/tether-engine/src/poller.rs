//! Polling triggers: [`poll_once`] reads what changed since a flow's durable cursor and turns
//! each record into an event through [`intake_many`]; a [`Poller`] does that for every poll flow at
//! its `every` interval.
//!
//! One poll of a flow, in order:
//! 1. take the lease `poll:<flow id>` ([`Store::try_lease`]), so one poller per flow runs across
//!    every process sharing the store (a second one is told [`PollReport::lease_held`]);
//! 2. read the cursor ([`Store::get_cursor`]) and call the source operation with
//!    `{"cursor": <cursor or null>, "limit": N}`, which answers `{"records": [...], "cursor": ...}`
//!    (the catalog's `<app>.<resource>.new|updated` operations, see the REST connector's `poll`);
//! 3. intake every record with the dedup key `<id>@<time>` (the time field of the trigger:
//!    `created_at` for `.new`, `updated_at` otherwise, or the flow's `cursor` field);
//! 4. only then compare-and-set the cursor ([`Store::set_cursor`]) from the value read in 2;
//! 5. while a page came back full, poll again from the new cursor.
//!
//! **Why a crash loses and duplicates nothing.** The cursor moves only after every record of the
//! page is durable as an event (step 3 returns after the commit). A crash before step 4 leaves the
//! old cursor, so the next poll reads the same records again; each has the same dedup key, so
//! [`intake_many`] finds the stored event and starts no second run. A crash after step 4 resumes after
//! the last durable record. Records that share a timestamp across a page boundary are handled by
//! the connector's (time, id) cursor with an inclusive overlap. A poller that lost its lease
//! mid-poll (it stalled past the lease) cannot move the cursor backwards or fork it: its
//! compare-and-set from a stale cursor fails, and it stops.
//!
//! **Echo.** A poll flow writing to another app, next to a flow that writes back (Details Flowers
//! → GHL and GHL → Details Flowers), does not loop: the executor links each source record to its
//! target and stores the content hash of what it wrote, and an action whose input hashes the same
//! as the link's is skipped, so the echo of a write ends at the first flow that sees no change.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tether_core::ErrorKind;
use tether_store::{ConnectionStatus, Store};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::executor::{FlowSet, content_hash};
use crate::flow::{Flow, PollSource, TriggerSpec};
use crate::invoke::{InvokeError, Operations};
use crate::worker::intake_many;

/// Records asked for per call of the source operation.
pub const DEFAULT_POLL_LIMIT: usize = 100;

/// How long a poller holds a flow's lease before another may take over; renewed before each
/// page. A poller that stalls longer (a call retrying past it) may find the lease taken: the
/// cursor's compare-and-set and the events' dedup keys keep the two pollers from losing or
/// doubling anything, and a crashed poller's flow is polled again within a minute.
pub const POLL_LEASE_MS: i64 = 60 * 1000;

/// How often an idle [`Poller::run`] looks for flows that are due.
pub const TICK: Duration = Duration::from_millis(250);

/// A poll that failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// No current flow has this id.
    #[error("no flow {0:?} is loaded")]
    UnknownFlow(String),
    /// The flow's trigger is not a poll.
    #[error("flow {0:?} is not a poll flow")]
    NotAPoll(String),
    /// The store failed.
    #[error("store error")]
    Store(#[from] tether_store::Error),
    /// The source operation failed.
    #[error("polling {operation} failed")]
    Invoke {
        /// The operation called.
        operation: String,
        /// Why.
        #[source]
        source: InvokeError,
    },
    /// The source answered something that is not `{"records": [...], "cursor": ...}`.
    #[error("{operation} answered no `records` array")]
    BadOutput {
        /// The operation called.
        operation: String,
    },
}

impl PollError {
    /// What a caller should do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PollError::UnknownFlow(_) | PollError::NotAPoll(_) | PollError::BadOutput { .. } => {
                ErrorKind::Permanent
            }
            PollError::Store(error) => error.kind(),
            PollError::Invoke { source, .. } => source.kind(),
        }
    }
}

impl PollError {
    /// The error with every cause, joined with ": " (`polling details_flowers.customer.new
    /// failed: the service refused the API key: GET /customers answered 401 …`), for one log
    /// field.
    pub fn describe(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// Logs a failed poll of `flow_id` with its cause and, when the cause is the connection's
/// credentials (an auth error), marks `connection` `revoked` (see [`credentials_refused`]).
pub async fn poll_failed(store: &Store, flow_id: &str, connection: &str, error: &PollError) {
    let cause = error.describe();
    warn!(flow = %flow_id, %connection, error = %cause, kind = ?error.kind(), "A poll failed.");
    if error.kind() == ErrorKind::Auth {
        credentials_refused(store, connection, &cause).await;
    }
}

/// The service refused `connection`'s credentials (a poll's or a step's call answered 401 or
/// 403): marks it `revoked` with `cause`, unless it is marked unusable already (a refused
/// refresh says more), so the connection's health shows it and not only the run or the log.
pub async fn credentials_refused(store: &Store, connection: &str, cause: &str) {
    match store.connection(connection).await {
        Ok(stored) if !stored.status.blocks_use() => {
            if let Err(error) = store
                .set_connection_status(&stored.id, ConnectionStatus::Revoked, Some(cause))
                .await
            {
                warn!(%connection, %error, "Cannot mark the connection revoked.");
            } else {
                warn!(%connection, "The service refused the connection's credentials; it is marked revoked: fix or reconnect it, then `tether connections test`.");
            }
        }
        Ok(_) => {}
        Err(error) => debug!(%connection, %error, "Cannot read the connection to mark its health."),
    }
}

/// What one [`poll_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Another poller holds the flow's lease; nothing was read.
    pub lease_held: bool,
    /// Calls of the source operation (pages).
    pub pages: usize,
    /// Records the source answered.
    pub records: usize,
    /// Of those, records stored as new events (the others were known: re-delivered).
    pub new_events: usize,
    /// Whether the cursor moved.
    pub cursor_moved: bool,
    /// The cursor was moved by someone else meanwhile; this poll stopped without moving it.
    pub cursor_conflict: bool,
}

/// How a poll runs: page size and the lease owner's name.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// Records per call of the source operation (at least 1).
    pub limit: usize,
    /// This poller's name in the lease; unique among pollers sharing the store.
    pub owner: String,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            limit: DEFAULT_POLL_LIMIT,
            owner: format!("poller-{}", std::process::id()),
        }
    }
}

/// Polls the poll flow `flow_id` once (with [`PollOptions::default`], whose lease owner is
/// per process: two concurrent calls in one process are not kept apart by the lease, only by the
/// cursor's compare-and-set; a long-running process uses a [`Poller`]): see the module docs.
pub async fn poll_once(
    store: &Store,
    ops: &dyn Operations,
    flows: &FlowSet,
    flow_id: &str,
    now_ms: i64,
) -> Result<PollReport, PollError> {
    poll_once_with(store, ops, flows, flow_id, now_ms, &PollOptions::default()).await
}

/// Polls the poll flow `flow_id` once with `options`: see the module docs.
pub async fn poll_once_with(
    store: &Store,
    ops: &dyn Operations,
    flows: &FlowSet,
    flow_id: &str,
    now_ms: i64,
    options: &PollOptions,
) -> Result<PollReport, PollError> {
    let flow = flows
        .current()
        .into_iter()
        .map(|(_, flow)| flow)
        .find(|flow| flow.id == flow_id)
        .ok_or_else(|| PollError::UnknownFlow(flow_id.to_owned()))?;
    let target = PollTarget::of(&flow).ok_or_else(|| PollError::NotAPoll(flow_id.to_owned()))?;
    let lease = format!("poll:{flow_id}");
    let mut report = PollReport::default();
    if !store
        .try_lease(&lease, &options.owner, now_ms, now_ms + POLL_LEASE_MS)
        .await?
    {
        report.lease_held = true;
        return Ok(report);
    }
    let polled = poll_pages(
        store,
        ops,
        flows,
        &flow,
        &target,
        options,
        &lease,
        &mut report,
    )
    .await;
    // Given back even after a failure, so the next tick (here or elsewhere) need not wait for the
    // lease to expire; a failure to give it back only delays that.
    if let Err(error) = store.release_lease(&lease, &options.owner).await {
        warn!(flow = flow_id, %error, "Cannot release the poll lease.");
    }
    polled?;
    Ok(report)
}

/// What a poll flow reads and how its records become events.
struct PollTarget {
    /// The operation called (`details_flowers.customer.new`), also the events' source.
    operation: String,
    /// The connection it is called on.
    connection: String,
    /// The events' kind (`customer.new`).
    kind: String,
    /// The record field that is part of the dedup key.
    time_field: String,
    /// The flow's parameters for the operation.
    with: serde_json::Map<String, Value>,
}

impl PollTarget {
    fn of(flow: &Flow) -> Option<Self> {
        let TriggerSpec::Poll {
            source,
            connection,
            cursor,
            with,
            ..
        } = &flow.trigger
        else {
            return None;
        };
        let operation = match source {
            PollSource::Operation(name) => name.clone(),
            // A resource's change feed is its `updated` trigger, which also reports new records.
            PollSource::Resource(name) => format!("{name}.updated"),
        };
        let kind = operation
            .split_once('.')
            .map_or(operation.as_str(), |(_, rest)| rest)
            .to_owned();
        let default_field = if operation.ends_with(".new") {
            "created_at"
        } else {
            "updated_at"
        };
        Some(PollTarget {
            time_field: cursor.clone().unwrap_or_else(|| default_field.to_owned()),
            with: with.clone(),
            operation,
            connection: connection.clone(),
            kind,
        })
    }

    /// `<id>@<time>`: the same for every re-read of one version of a record, different for a later
    /// update. Without an id or time the content hash stands in, which is stable as well.
    fn event_key(&self, record: &Value) -> String {
        let text = |value: Option<&Value>| match value {
            Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        match (text(record.get("id")), text(record.get(&self.time_field))) {
            (Some(id), Some(time)) => format!("{id}@{time}"),
            (Some(id), None) => format!("{id}#{}", content_hash(record)),
            _ => format!("#{}", content_hash(record)),
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "an internal step of poll_once_with"
)]
async fn poll_pages(
    store: &Store,
    ops: &dyn Operations,
    flows: &FlowSet,
    flow: &Flow,
    target: &PollTarget,
    options: &PollOptions,
    lease: &str,
    report: &mut PollReport,
) -> Result<(), PollError> {
    let limit = options.limit.max(1);
    let mut cursor = store.get_cursor(&flow.id, &target.operation).await?;
    loop {
        if report.pages > 0 {
            // Renewed from the clock rather than the caller's `now_ms`: a long catch-up must not
            // let the lease lapse under it. Lost means another poller took over: stop quietly.
            let now = tether_store::now_ms();
            if !store
                .try_lease(lease, &options.owner, now, now + POLL_LEASE_MS)
                .await?
            {
                report.lease_held = true;
                return Ok(());
            }
        }
        let mut input = target.with.clone();
        input.insert("cursor".into(), cursor.clone().unwrap_or(Value::Null));
        input.insert("limit".into(), json!(limit));
        let input = Value::Object(input);
        let output = ops
            .invoke(&target.connection, &target.operation, input)
            .await
            .map_err(|source| PollError::Invoke {
                operation: target.operation.clone(),
                source,
            })?;
        report.pages += 1;
        let records = output
            .get("records")
            .and_then(Value::as_array)
            .ok_or_else(|| PollError::BadOutput {
                operation: target.operation.clone(),
            })?;
        report.records += records.len();
        // The page's records commit together (one transaction).
        let events = records
            .iter()
            .map(|record| {
                (
                    target.event_key(record),
                    target.kind.clone(),
                    record.clone(),
                )
            })
            .collect();
        for taken in intake_many(store, flows, &target.operation, events).await? {
            report.new_events += usize::from(taken.new);
        }
        let next = output.get("cursor").cloned().unwrap_or(Value::Null);
        if next.is_null() || Some(&next) == cursor.as_ref() {
            // Nothing new, or a source that cannot move on: another page would read the same.
            return Ok(());
        }
        // Every record above is durable now, so moving past them is safe (see the module docs).
        if !store
            .set_cursor(&flow.id, &target.operation, cursor.as_ref(), &next)
            .await?
        {
            report.cursor_conflict = true;
            return Ok(());
        }
        report.cursor_moved = true;
        debug!(flow = %flow.id, records = records.len(), "Polled a page.");
        if records.len() < limit {
            return Ok(());
        }
        cursor = Some(next);
    }
}

/// Polls every poll flow of a [`FlowSet`] at its `every` interval until shut down.
#[derive(Clone)]
pub struct Poller {
    /// Where cursors, leases and events live.
    pub store: Store,
    /// How source operations are called.
    pub ops: Arc<dyn Operations>,
    /// The flows; poll flows added later are picked up at the next tick.
    pub flows: FlowSet,
    /// Page size and lease owner.
    pub options: PollOptions,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Poller {
    /// A poller with a unique owner name (process id and a random suffix).
    pub fn new(store: Store, ops: Arc<dyn Operations>, flows: FlowSet) -> Self {
        Poller {
            store,
            ops,
            flows,
            options: PollOptions {
                limit: DEFAULT_POLL_LIMIT,
                owner: format!("poller-{}-{:08x}", std::process::id(), fastrand::u32(..)),
            },
        }
    }

    /// Polls each poll flow when due (first at once, then `every` after the previous poll
    /// started), each as its own task, until `shutdown` is cancelled; then waits for polls in
    /// flight, which end at their current call's deadline at the latest.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut due: BTreeMap<String, i64> = BTreeMap::new();
        let mut tasks: JoinSet<()> = JoinSet::new();
        // Task → flow, so a poll that panicked still frees its flow.
        let mut in_flight: HashMap<tokio::task::Id, String> = HashMap::new();
        while !shutdown.is_cancelled() {
            let now = tether_store::now_ms();
            for (_, flow) in self.flows.current() {
                let TriggerSpec::Poll {
                    every, connection, ..
                } = &flow.trigger
                else {
                    continue;
                };
                let connection = connection.clone();
                if in_flight.values().any(|id| *id == flow.id)
                    || due.get(&flow.id).is_some_and(|at| *at > now)
                {
                    continue;
                }
                let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
                due.insert(flow.id.clone(), now.saturating_add(every_ms.max(1)));
                let poller = self.clone();
                let flow_id = flow.id.clone();
                let handle = tasks.spawn(async move {
                    let polled = poll_once_with(
                        &poller.store,
                        poller.ops.as_ref(),
                        &poller.flows,
                        &flow_id,
                        tether_store::now_ms(),
                        &poller.options,
                    )
                    .await;
                    match polled {
                        Ok(report) => debug!(flow = %flow_id, ?report, "Polled."),
                        Err(error) => {
                            poll_failed(&poller.store, &flow_id, &connection, &error).await;
                        }
                    }
                });
                in_flight.insert(handle.id(), flow.id.clone());
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    finish(&mut in_flight, joined);
                }
                () = tokio::time::sleep(TICK) => {}
            }
        }
        while let Some(joined) = tasks.join_next_with_id().await {
            finish(&mut in_flight, joined);
        }
    }
}

fn finish(
    in_flight: &mut HashMap<tokio::task::Id, String>,
    joined: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let id = match joined {
        Ok((id, ())) => id,
        Err(error) => {
            warn!(%error, "A poll task failed.");
            error.id()
        }
    };
    in_flight.remove(&id);
}
