//! Trigger events: what a webhook delivered or a poll found, stored once per `(source, key)`.
//!
//! Recording is the durability point of intake: the webhook receiver answers only after
//! [`Store::record_event`] returned, so an event it acknowledged survives a crash.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};

use crate::runs::{RunId, insert_run};
use crate::{Error, Store, json_column, row_id};

row_id!(
    /// A stored event.
    EventId
);

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventInsert {
    /// The event is new and stored under this id.
    New(EventId),
    /// An event with the same source and key was stored before, under this id.
    Duplicate(EventId),
}

impl EventInsert {
    /// The stored event's id, new or not.
    pub fn id(self) -> EventId {
        match self {
            EventInsert::New(id) | EventInsert::Duplicate(id) => id,
        }
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// Where it came from (`ghl.webhook`, `ghl.poll.contacts`, `schedule:nightly`).
    pub source: String,
    /// The dedup key within the source (a GHL `webhookId`, a record id plus its update time).
    pub event_key: String,
    /// What happened (`ContactCreate`, `contact.updated`).
    pub kind: String,
    /// The event as received.
    pub payload: serde_json::Value,
    /// When it was received, ms since epoch.
    pub received_at_ms: i64,
}

impl Store {
    /// Stores an event unless one with the same `source` and `event_key` exists; answers which.
    /// The unique key decides, so of concurrent deliveries exactly one is [`EventInsert::New`].
    /// When this returns the event is durable (see [`Store::record_event_with_runs`]).
    pub async fn record_event(
        &self,
        source: &str,
        event_key: &str,
        kind: &str,
        payload: &serde_json::Value,
        received_at_ms: i64,
    ) -> Result<EventInsert, Error> {
        let (inserted, _) = self
            .record_event_with_runs(source, event_key, kind, payload, received_at_ms, &[])
            .await?;
        Ok(inserted)
    }

    /// Stores an event as [`Store::record_event`] does and, in the same transaction, enqueues
    /// one run per `(flow_id, flow_version)` in `flows`: after a crash there is never an event
    /// without its runs. The runs are enqueued for a duplicate too (each at most once, see
    /// [`Store::enqueue_run`]), so a redelivery also repairs intake that an older version or a
    /// changed flow list left incomplete. Answers the event and the runs, in `flows` order.
    ///
    /// When this returns the event is durable: on SQLite it commits on the store's synced
    /// connection (`synchronous = FULL`; the pool's others run `NORMAL`, which could lose the
    /// last commits on power loss, though not on a crash of the process).
    pub async fn record_event_with_runs(
        &self,
        source: &str,
        event_key: &str,
        kind: &str,
        payload: &serde_json::Value,
        received_at_ms: i64,
        flows: &[(&str, i64)],
    ) -> Result<(EventInsert, Vec<RunId>), Error> {
        let payload = payload.to_string();
        let mut connection = self.synced.acquire().await?;
        insert_event_and_runs(
            &mut connection,
            source,
            event_key,
            kind,
            &payload,
            received_at_ms,
            flows,
        )
        .await
    }

    /// The event with this id.
    pub async fn event(&self, id: EventId) -> Result<Event, Error> {
        let row = sqlx::query(
            "SELECT id, source, event_key, kind, payload, received_at_ms FROM events WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "event",
            name: id.to_string(),
        })?;
        decode_event(&row)
    }
}

async fn insert_event_and_runs(
    connection: &mut AnyConnection,
    source: &str,
    event_key: &str,
    kind: &str,
    payload: &str,
    received_at_ms: i64,
    flows: &[(&str, i64)],
) -> Result<(EventInsert, Vec<RunId>), Error> {
    // The first statement writes, so SQLite takes the write lock up front instead of upgrading
    // a read that another writer made stale.
    let mut transaction = connection.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO events (source, event_key, kind, payload, received_at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, event_key) DO NOTHING RETURNING id",
    )
    .bind(source)
    .bind(event_key)
    .bind(kind)
    .bind(payload)
    .bind(received_at_ms)
    .fetch_optional(&mut *transaction)
    .await?;
    let event = match inserted {
        Some(row) => EventInsert::New(EventId(row.try_get("id")?)),
        None => {
            // The conflicting row is committed (PostgreSQL waits for the other inserter before
            // deciding "conflict"), and this statement's snapshot is newer, so it sees the row.
            let row = sqlx::query("SELECT id FROM events WHERE source = $1 AND event_key = $2")
                .bind(source)
                .bind(event_key)
                .fetch_one(&mut *transaction)
                .await?;
            EventInsert::Duplicate(EventId(row.try_get("id")?))
        }
    };
    let mut run_ids = Vec::with_capacity(flows.len());
    let records = if flows.is_empty() {
        Vec::new()
    } else {
        let payload = serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
        crate::run_search::trigger_records(source, &payload)
    };
    for (flow_id, flow_version) in flows {
        let run_id = insert_run(&mut transaction, flow_id, *flow_version, event.id(), 0).await?;
        // What the run is about, so a search by contact id or e-mail finds it.
        crate::run_search::index_trigger(&mut transaction, run_id, &records).await?;
        run_ids.push(run_id);
    }
    transaction.commit().await?;
    Ok((event, run_ids))
}

fn decode_event(row: &AnyRow) -> Result<Event, Error> {
    Ok(Event {
        id: EventId(row.try_get("id")?),
        source: row.try_get("source")?,
        event_key: row.try_get("event_key")?,
        kind: row.try_get("kind")?,
        payload: json_column(row, "payload")?,
        received_at_ms: row.try_get("received_at_ms")?,
    })
}
