//! Trigger events: what a webhook delivered or a poll found, stored once per `(source, key)`.
//!
//! Recording is the durability point of intake: the webhook receiver answers only after
//! [`Store::record_event`] returned, so an event it acknowledged survives a crash.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::intake::{NewEvent, Recorded};
use crate::runs::RunId;
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
        let mut recorded = self
            .record_events(vec![NewEvent {
                source: source.to_owned(),
                event_key: event_key.to_owned(),
                kind: kind.to_owned(),
                payload: payload.clone(),
                received_at_ms,
                flows: flows
                    .iter()
                    .map(|(flow_id, version)| ((*flow_id).to_owned(), *version))
                    .collect(),
            }])
            .await?;
        recorded.pop().ok_or(Error::Stopped)
    }

    /// Records `events` as [`Store::record_event_with_runs`] does each, and answers what each
    /// did, in their order. They commit together with whatever other intake is queued at the
    /// same moment (group commit: one sync to disk for all of them); when this returns they are
    /// durable.
    pub async fn record_events(&self, events: Vec<NewEvent>) -> Result<Vec<Recorded>, Error> {
        self.intake.record(events).await
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

impl Store {
    /// The events with these ids, in one query; ids without an event are left out.
    pub async fn events(&self, ids: &[EventId]) -> Result<Vec<Event>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = (1..=ids.len())
            .map(|at| format!("${at}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT id, source, event_key, kind, payload, received_at_ms FROM events \
             WHERE id IN ({list})"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id.0);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(decode_event).collect()
    }
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
