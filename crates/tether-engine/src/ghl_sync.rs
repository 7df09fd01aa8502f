//! GHL's change feed for webhook flows: the initial sync of what a location already holds, and
//! the reconciliation poll that catches a webhook GHL never delivered.
//!
//! GHL redelivers a webhook only when the receiver answered 429, so an event lost while Tether
//! was down, or dropped on the way, would be lost for good. [`sync_once`] reads the contacts
//! changed since a durable cursor (`ghl.contact.updated`, oldest change first) and feeds each one
//! to the webhook flows as the event its webhook would have been (`ContactCreate` when the
//! contact was never updated, else `ContactUpdate`), from the source `ghl.sync`. When webhook
//! flows listen for `TaskCreate`, `NoteCreate` or `AppointmentCreate`, the tasks, notes and
//! appointments of each contact read are fed as those events too. The first pass (no cursor yet)
//! reads the whole location: that is the initial sync.
//!
//! **Exactly once.** Each record enters as an event keyed by its id and version
//! (`contact:<id>@<dateUpdated>`, `note:<id>`), so a page read twice (after a crash, or because a
//! webhook already brought the change) starts no second run; and when a webhook and this feed
//! both carry one change, the second run finds the link with the same content and writes
//! nothing. An older version arriving after a newer one is skipped by the link's source version.
//! The cursor moves by compare-and-set only after every event of the page is durable, as in
//! [`crate::poller`], and one process per connection runs the feed at a time (a store lease).
//!
//! **Known gap.** A task, note or appointment added to a contact does not change the contact's
//! `dateUpdated`, so its lost webhook is only recovered the next time the contact itself changes
//! (or by a poll flow on `ghl.contact.note.new` for that contact).

use std::time::Duration;

use serde_json::{Map, Value, json};
use tether_store::Store;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::executor::FlowSet;
use crate::flow::TriggerSpec;
use crate::invoke::Operations;
use crate::poller::PollError;
use crate::worker::{intake_many, starts};

/// The events' source: webhook flows of app `ghl` match it like `ghl.webhook`.
pub const SOURCE: &str = "ghl.sync";

/// The feed operation, also the cursor's trigger key.
const FEED: &str = "ghl.contact.updated";

/// How long the feed's lease lasts unless renewed; the feed renews it every [`RENEW_EVERY`]
/// while it works, so a crashed process's feed is taken over within half a minute.
pub const SYNC_LEASE_MS: i64 = 30 * 1000;

/// How often a working feed renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// A running sync logs its progress at least this often (and after every
/// [`PROGRESS_RECORDS`] contacts), so a person watching a long initial sync sees it advance.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Contacts read between two progress lines, at most.
pub const PROGRESS_RECORDS: usize = 1000;

/// Contacts asked for per page.
pub const DEFAULT_PAGE: usize = 250;

/// What one [`sync_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Another process holds the connection's feed lease; nothing was read.
    pub lease_held: bool,
    /// Pages of contacts read.
    pub pages: usize,
    /// Contacts read.
    pub contacts: usize,
    /// Tasks, notes and appointments read.
    pub related: usize,
    /// Events stored as new (the others were known already).
    pub new_events: usize,
    /// Runs those events started.
    pub runs_started: usize,
    /// The cursor was moved by someone else meanwhile; this pass stopped.
    pub cursor_conflict: bool,
}

/// The GHL connections webhook flows listen on, each once.
pub fn webhook_connections(flows: &FlowSet) -> Vec<String> {
    let mut connections: Vec<String> = flows
        .current()
        .into_iter()
        .filter_map(|(_, flow)| match &flow.trigger {
            TriggerSpec::Webhook {
                app, connection, ..
            } if app == "ghl" => Some(connection.clone()),
            _ => None,
        })
        .collect();
    connections.sort();
    connections.dedup();
    connections
}

/// The cursor's flow key: one feed per connection, shared by every flow on it.
fn feed_key(connection: &str) -> String {
    format!("ghl-sync:{connection}")
}

/// Reads what changed in the location of `connection` since the feed's cursor, page by page,
/// and feeds it to `flows`; `on_page` hears the running report after each page (a progress bar).
pub async fn sync_once(
    store: &Store,
    ops: &dyn Operations,
    flows: &FlowSet,
    connection: &str,
    owner: &str,
    page_size: usize,
    mut on_page: impl FnMut(&SyncReport),
) -> Result<SyncReport, PollError> {
    let key = feed_key(connection);
    let lease = format!("lease:{key}");
    let mut report = SyncReport::default();
    let now = tether_store::now_ms();
    if !store
        .try_lease(&lease, owner, now, now + SYNC_LEASE_MS)
        .await?
    {
        report.lease_held = true;
        return Ok(report);
    }
    let result = sync_pages(
        store,
        ops,
        flows,
        connection,
        owner,
        page_size,
        &mut report,
        &mut on_page,
    )
    .await;
    if let Err(error) = store.release_lease(&lease, owner).await {
        warn!(connection, %error, "Cannot release the GHL sync lease.");
    }
    result.map(|()| report)
}

#[expect(clippy::too_many_arguments, reason = "an internal step of sync_once")]
async fn sync_pages(
    store: &Store,
    ops: &dyn Operations,
    flows: &FlowSet,
    connection: &str,
    owner: &str,
    page_size: usize,
    report: &mut SyncReport,
    on_page: &mut impl FnMut(&SyncReport),
) -> Result<(), PollError> {
    let key = feed_key(connection);
    let lease = format!("lease:{key}");
    let limit = page_size.max(1);
    let wants = |kind: &str| !starts(flows, SOURCE, kind).is_empty();
    let related: Vec<Related> = RELATED
        .iter()
        .filter(|related| wants(related.kind))
        .copied()
        .collect();
    let mut cursor = store.get_cursor(&key, FEED).await?;
    let mut renewed = tokio::time::Instant::now();
    // Renews the lease when due; `false` when another process took it over (this one stalled
    // past its lease): then it stops, and its cursor compare-and-set could not succeed anyway.
    let mut keep_lease = async || -> Result<bool, PollError> {
        if renewed.elapsed() < RENEW_EVERY {
            return Ok(true);
        }
        renewed = tokio::time::Instant::now();
        let now = tether_store::now_ms();
        Ok(store
            .try_lease(&lease, owner, now, now + SYNC_LEASE_MS)
            .await?)
    };
    loop {
        if !keep_lease().await? {
            report.lease_held = true;
            return Ok(());
        }
        let mut output = ops
            .invoke(
                connection,
                FEED,
                json!({"cursor": cursor.clone(), "limit": limit}),
            )
            .await
            .map_err(|source| PollError::Invoke {
                operation: FEED.into(),
                source,
            })?;
        report.pages += 1;
        let records = output
            .get_mut("records")
            .and_then(Value::as_array_mut)
            .map(std::mem::take)
            .ok_or_else(|| PollError::BadOutput {
                operation: FEED.into(),
            })?;
        let page_len = records.len();
        // The page's events commit together, once every one of them was read.
        let mut events: Vec<(String, String, Value)> = Vec::with_capacity(page_len);
        for mut contact in records {
            let Some(id) = contact.get("id").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            report.contacts += 1;
            let added = contact.get("dateAdded").and_then(Value::as_str);
            let updated = contact.get("dateUpdated").and_then(Value::as_str);
            let kind = if updated.is_none() || updated == added {
                "ContactCreate"
            } else {
                "ContactUpdate"
            };
            let event_key = format!("contact:{id}@{}", updated.or(added).unwrap_or("-"));
            // The contact read is the event's payload, as its webhook would carry it.
            contact["type"] = json!(kind);
            let location = contact.get("locationId").cloned().unwrap_or(Value::Null);
            events.push((event_key, kind.to_owned(), contact));
            for related in &related {
                let items = list_related(ops, connection, related, &id).await?;
                for item in items {
                    let Some(item_id) = item.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    report.related += 1;
                    let event_key = format!("{}:{item_id}", related.key);
                    let payload = related.payload(item, &id, &location);
                    events.push((event_key, related.kind.to_owned(), payload));
                }
            }
            if !keep_lease().await? {
                report.lease_held = true;
                return Ok(());
            }
        }
        for taken in intake_many(store, flows, SOURCE, events).await? {
            report.new_events += usize::from(taken.new);
            report.runs_started += taken.runs;
        }
        on_page(report);
        let next = output.get("cursor").cloned().unwrap_or(Value::Null);
        if next.is_null() || Some(&next) == cursor.as_ref() {
            return Ok(());
        }
        // Every event of the page is durable: moving past it is safe (see the module docs).
        if !store.set_cursor(&key, FEED, cursor.as_ref(), &next).await? {
            report.cursor_conflict = true;
            return Ok(());
        }
        debug!(
            connection,
            contacts = page_len,
            "Synced a page of GHL contacts."
        );
        if page_len < limit {
            return Ok(());
        }
        cursor = Some(next);
    }
}

/// A kind of record that belongs to a contact and has its own webhook event.
#[derive(Debug, Clone, Copy)]
struct Related {
    /// The webhook event it stands for.
    kind: &'static str,
    /// The operation listing a contact's records, and the output field holding them.
    list: &'static str,
    field: &'static str,
    /// The event key's prefix.
    key: &'static str,
    /// Whether the webhook nests the record under its type (`{"appointment": {...}}`).
    nested: Option<&'static str>,
}

const RELATED: [Related; 3] = [
    Related {
        kind: "TaskCreate",
        list: "ghl.task.list",
        field: "tasks",
        key: "task",
        nested: None,
    },
    Related {
        kind: "NoteCreate",
        list: "ghl.note.list",
        field: "notes",
        key: "note",
        nested: None,
    },
    Related {
        kind: "AppointmentCreate",
        list: "ghl.contact.list_appointments",
        field: "events",
        key: "appointment",
        nested: Some("appointment"),
    },
];

impl Related {
    /// The record in its webhook's shape (see `reference/ghl/webhook-examples`).
    fn payload(&self, mut item: Value, contact_id: &str, location: &Value) -> Value {
        if item.get("contactId").is_none_or(Value::is_null) {
            item["contactId"] = json!(contact_id);
        }
        let mut payload = match self.nested {
            Some(name) => {
                let mut outer = Map::new();
                outer.insert(name.to_owned(), item);
                Value::Object(outer)
            }
            None => item,
        };
        payload["type"] = json!(self.kind);
        payload["locationId"] = location.clone();
        payload
    }
}

async fn list_related(
    ops: &dyn Operations,
    connection: &str,
    related: &Related,
    contact_id: &str,
) -> Result<Vec<Value>, PollError> {
    let mut output = ops
        .invoke(connection, related.list, json!({"contactId": contact_id}))
        .await
        .map_err(|source| PollError::Invoke {
            operation: related.list.into(),
            source,
        })?;
    output
        .get_mut(related.field)
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .ok_or_else(|| PollError::BadOutput {
            operation: related.list.into(),
        })
}

/// Runs [`sync_once`] for every GHL connection of the webhook flows: at once (the initial sync,
/// or the catch-up after downtime), then every `every`, until `shutdown`.
pub async fn run(
    store: Store,
    ops: std::sync::Arc<dyn Operations>,
    flows: FlowSet,
    every: Duration,
    shutdown: CancellationToken,
) {
    let owner = format!("ghl-sync-{}-{:08x}", std::process::id(), fastrand::u32(..));
    while !shutdown.is_cancelled() {
        for connection in webhook_connections(&flows) {
            let started = tokio::time::Instant::now();
            let mut last_line = started;
            let mut last_contacts = 0;
            // Progress of a long pass (the initial sync): counts only, never a record's content.
            let progress = |report: &SyncReport| {
                if last_line.elapsed() < PROGRESS_EVERY
                    && report.contacts < last_contacts + PROGRESS_RECORDS
                {
                    return;
                }
                last_line = tokio::time::Instant::now();
                last_contacts = report.contacts;
                info!(
                    connection,
                    contacts = report.contacts,
                    related = report.related,
                    new_events = report.new_events,
                    runs_started = report.runs_started,
                    elapsed_secs = started.elapsed().as_secs(),
                    "GHL sync in progress."
                );
            };
            let synced = tokio::select! {
                () = shutdown.cancelled() => return,
                synced = sync_once(&store, ops.as_ref(), &flows, &connection, &owner, DEFAULT_PAGE, progress) => synced,
            };
            match synced {
                Ok(report) if report.new_events > 0 => info!(
                    connection,
                    contacts = report.contacts,
                    related = report.related,
                    new_events = report.new_events,
                    runs_started = report.runs_started,
                    elapsed_secs = started.elapsed().as_secs(),
                    "GHL sync found changes."
                ),
                Ok(report) => debug!(connection, ?report, "GHL sync found nothing new."),
                Err(error) => {
                    warn!(connection, %error, kind = ?error.kind(), "GHL sync failed; it runs again at the next interval.")
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
