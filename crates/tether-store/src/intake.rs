//! Group commit for intake: every event recorded at about the same time, from any caller, commits
//! in one transaction on the synced connection, with its runs.
//!
//! A caller queues its events and waits ([`crate::group`]): everything queued (up to
//! [`MAX_BATCH`] events) is written with multi-row statements and committed together. While one
//! commit waits for the disk, the next batch gathers: under load one sync to disk serves
//! hundreds of events, and a lone event waits for nothing but its own commit.
//!
//! A batch that fails is written again one caller at a time, each in its own transaction, so one
//! caller's bad event (or any failure) is answered to that caller alone.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::{AnyConnection, AnyPool, Connection, Row};
use tokio::sync::oneshot;

use crate::events::{EventId, EventInsert};
use crate::group::{Group, WriteTurn};
use crate::runs::RunId;
use crate::{Error, now_ms};

/// Events written in one transaction at most. Each takes at most 5 parameters per statement;
/// statements are cut at [`ROWS_PER_STATEMENT`] rows, inside SQLite's and PostgreSQL's limits.
pub(crate) const MAX_BATCH: usize = 1024;

/// Rows per multi-row statement (PostgreSQL allows 65,535 parameters, SQLite 32,766).
const ROWS_PER_STATEMENT: usize = 500;

/// An event to record with the runs it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Where it came from.
    pub source: String,
    /// The dedup key within the source.
    pub event_key: String,
    /// What happened.
    pub kind: String,
    /// The event as received.
    pub payload: serde_json::Value,
    /// When it was received, ms since epoch.
    pub received_at_ms: i64,
    /// The `(flow id, flow version)` of each run it starts.
    pub flows: Vec<(String, i64)>,
}

/// What recording one event did: the event, new or not, and its runs in `flows` order.
pub type Recorded = (EventInsert, Vec<RunId>);

struct Waiting {
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<Vec<Recorded>, Error>>,
}

/// The intake queue of one store (see the module docs).
#[derive(Clone)]
pub(crate) struct Intake {
    group: Group<Waiting>,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake").finish_non_exhaustive()
    }
}

impl Intake {
    /// An intake committing on `pool` (the store's synced connection), each batch in its
    /// `turn`.
    pub(crate) fn new(pool: AnyPool, turn: WriteTurn) -> Self {
        let writer = Arc::new(IntakeWriter { pool, turn });
        Intake {
            group: Group::new(
                Arc::new(move |batch| {
                    let writer = writer.clone();
                    Box::pin(async move { writer.commit(batch).await })
                }),
                |waiting: &Waiting| waiting.events.len(),
                MAX_BATCH,
            ),
        }
    }

    /// Records `events` with their runs and answers, in their order, what each did, once the
    /// transaction holding them committed.
    pub(crate) async fn record(&self, events: Vec<NewEvent>) -> Result<Vec<Recorded>, Error> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.group.submit(Waiting { events, reply });
        answer.await.map_err(|_| Error::Stopped)?
    }
}

struct IntakeWriter {
    pool: AnyPool,
    turn: WriteTurn,
}

impl IntakeWriter {
    async fn commit(&self, batch: Vec<Waiting>) {
        let _turn = self.turn.take().await;
        let events: Vec<&NewEvent> = batch.iter().flat_map(|waiting| &waiting.events).collect();
        match self.write(&events).await {
            Ok(mut recorded) => {
                for waiting in batch {
                    let rest = recorded.split_off(waiting.events.len());
                    let _ = waiting.reply.send(Ok(recorded));
                    recorded = rest;
                }
            }
            Err(error) if batch.len() == 1 => {
                if let Some(waiting) = batch.into_iter().next() {
                    let _ = waiting.reply.send(Err(error));
                }
            }
            Err(error) => {
                tracing::debug!(
                    %error, callers = batch.len(),
                    "An intake batch failed; writing each caller's events alone."
                );
                for waiting in batch {
                    let events: Vec<&NewEvent> = waiting.events.iter().collect();
                    let _ = waiting.reply.send(self.write(&events).await);
                }
            }
        }
    }

    async fn write(&self, events: &[&NewEvent]) -> Result<Vec<Recorded>, Error> {
        let mut connection = self.pool.acquire().await?;
        let mut transaction = connection.begin().await?;
        let recorded = insert_events(&mut transaction, events).await?;
        transaction.commit().await?;
        Ok(recorded)
    }
}

/// Inserts `events` and their runs (and the records each run is about) with a few multi-row
/// statements; answers what each event did, in order. An event given twice is new at most once.
pub(crate) async fn insert_events(
    connection: &mut AnyConnection,
    events: &[&NewEvent],
) -> Result<Vec<Recorded>, Error> {
    // Events: new ones come back with their ids; the others exist already.
    let mut ids: HashMap<(&str, &str), EventId> = HashMap::with_capacity(events.len());
    let mut new_ids: HashSet<EventId> = HashSet::with_capacity(events.len());
    let mut unique: Vec<&NewEvent> = Vec::with_capacity(events.len());
    let mut keys: HashMap<(&str, &str), &NewEvent> = HashMap::with_capacity(events.len());
    for event in events {
        let key = (event.source.as_str(), event.event_key.as_str());
        if let Entry::Vacant(vacant) = keys.entry(key) {
            vacant.insert(event);
            unique.push(event);
        }
    }
    // In key order, so two processes inserting overlapping batches on PostgreSQL take the rows'
    // locks in one order and never deadlock.
    unique.sort_by(|a, b| (&a.source, &a.event_key).cmp(&(&b.source, &b.event_key)));
    for chunk in unique.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO events (source, event_key, kind, payload, received_at_ms) VALUES {} \
             ON CONFLICT (source, event_key) DO NOTHING RETURNING id, source, event_key",
            crate::placeholders(connection, chunk.len(), 5, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in chunk {
            query = query
                .bind(event.source.as_str())
                .bind(event.event_key.as_str())
                .bind(event.kind.as_str())
                .bind(event.payload.to_string())
                .bind(event.received_at_ms);
        }
        for row in query.fetch_all(&mut *connection).await? {
            let source: String = row.try_get("source")?;
            let event_key: String = row.try_get("event_key")?;
            let id = EventId(row.try_get("id")?);
            if let Some(event) = keys.get(&(source.as_str(), event_key.as_str())) {
                ids.insert((event.source.as_str(), event.event_key.as_str()), id);
                new_ids.insert(id);
            }
        }
    }
    for event in &unique {
        let key = (event.source.as_str(), event.event_key.as_str());
        if let Entry::Vacant(vacant) = ids.entry(key) {
            // Stored before (a redelivery). The conflicting row is committed (PostgreSQL waits for
            // the other inserter before deciding "conflict"), so this statement sees it.
            let row = sqlx::query("SELECT id FROM events WHERE source = $1 AND event_key = $2")
                .bind(key.0)
                .bind(key.1)
                .fetch_one(&mut *connection)
                .await?;
            vacant.insert(EventId(row.try_get("id")?));
        }
    }

    // Runs: one per event and flow, at most once; a redelivery finds the runs it started.
    let now = now_ms();
    let mut wanted: Vec<(&str, i64, EventId)> = Vec::new();
    let mut flow_ids: HashMap<&str, &str> = HashMap::new();
    {
        let mut seen = HashSet::new();
        for event in &unique {
            let event_id = ids[&(event.source.as_str(), event.event_key.as_str())];
            for (flow_id, version) in &event.flows {
                if seen.insert((flow_id.as_str(), event_id)) {
                    wanted.push((flow_id.as_str(), *version, event_id));
                    flow_ids.insert(flow_id.as_str(), flow_id.as_str());
                }
            }
        }
    }
    wanted.sort_by(|a, b| (a.2, a.0).cmp(&(b.2, b.0)));
    let mut runs: HashMap<(&str, EventId), RunId> = HashMap::with_capacity(wanted.len());
    let mut new_runs: Vec<(RunId, EventId)> = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(ROWS_PER_STATEMENT) {
        let rows = (0..chunk.len())
            .map(|index| {
                let at = index * 3;
                format!(
                    "(${}, ${}, ${}, 0, 'queued', 0, $1, $1, $1)",
                    at + 2,
                    at + 3,
                    at + 4
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO runs (flow_id, flow_version, event_id, replay_of, status, attempts, \
             next_attempt_at_ms, created_at_ms, updated_at_ms) VALUES {rows} \
             ON CONFLICT (flow_id, event_id, replay_of) DO NOTHING RETURNING id, flow_id, event_id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for (flow_id, version, event_id) in chunk {
            query = query.bind(*flow_id).bind(*version).bind(event_id.0);
        }
        for row in query.fetch_all(&mut *connection).await? {
            let flow_id: String = row.try_get("flow_id")?;
            let event_id = EventId(row.try_get("event_id")?);
            let run_id = RunId(row.try_get("id")?);
            if let Some(flow) = flow_ids.get(flow_id.as_str()) {
                runs.insert((flow, event_id), run_id);
                new_runs.push((run_id, event_id));
            }
        }
    }
    for (flow_id, _, event_id) in &wanted {
        if !runs.contains_key(&(*flow_id, *event_id)) {
            let row = sqlx::query(
                "SELECT id FROM runs WHERE flow_id = $1 AND event_id = $2 AND replay_of = 0",
            )
            .bind(*flow_id)
            .bind(event_id.0)
            .fetch_one(&mut *connection)
            .await?;
            runs.insert((flow_id, *event_id), RunId(row.try_get("id")?));
        }
    }

    // What each new run is about, so a search by contact id or e-mail finds it.
    let mut records: Vec<(RunId, String, String)> = Vec::new();
    if !new_runs.is_empty() {
        let by_event: HashMap<EventId, &NewEvent> = unique
            .iter()
            .map(|event| {
                (
                    ids[&(event.source.as_str(), event.event_key.as_str())],
                    *event,
                )
            })
            .collect();
        let mut of_event: HashMap<EventId, Vec<(String, String)>> = HashMap::new();
        for (run_id, event_id) in &new_runs {
            let touched = of_event.entry(*event_id).or_insert_with(|| {
                by_event.get(event_id).map_or_else(Vec::new, |event| {
                    crate::run_search::trigger_records(&event.source, &event.payload)
                })
            });
            for (app, record) in touched.iter() {
                records.push((*run_id, crate::run_search::record_key(record), app.clone()));
            }
        }
    }
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO run_records (record, run_id, app) VALUES {} ON CONFLICT DO NOTHING",
            crate::placeholders(connection, chunk.len(), 3, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (run_id, record, app) in chunk {
            query = query
                .bind(record.as_str())
                .bind(run_id.0)
                .bind(app.as_str());
        }
        query.execute(&mut *connection).await?;
    }

    // The answer, in the order given; a key given twice is new only the first time.
    let mut answered = HashSet::new();
    Ok(events
        .iter()
        .map(|event| {
            let key = (event.source.as_str(), event.event_key.as_str());
            let id = ids[&key];
            let inserted = if new_ids.contains(&id) && answered.insert(key) {
                EventInsert::New(id)
            } else {
                EventInsert::Duplicate(id)
            };
            let run_ids = event
                .flows
                .iter()
                .map(|(flow_id, _)| runs[&(flow_id.as_str(), id)])
                .collect();
            (inserted, run_ids)
        })
        .collect())
}
