//! The dead-letter queue: runs that failed for good (retries exhausted, or a failure retries
//! cannot fix such as a mapping error), with the reason, the failing step and the event payload,
//! for a person to read and replay.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::events::EventId;
use crate::runs::{RunId, insert_run};
use crate::{Error, Store, json_column, now_ms, row_id};

row_id!(
    /// A dead-letter entry.
    DeadLetterId
);

/// A run that failed for good.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The entry's id.
    pub id: DeadLetterId,
    /// The failed run.
    pub run_id: RunId,
    /// Its flow.
    pub flow_id: String,
    /// The flow version it ran.
    pub flow_version: i64,
    /// How many attempts it had.
    pub attempts: i64,
    /// Its trigger event.
    pub event_id: EventId,
    /// Where the event came from.
    pub event_source: String,
    /// What the event was.
    pub event_kind: String,
    /// The event as received.
    pub payload: serde_json::Value,
    /// The step that failed, when a step did.
    pub failed_step: Option<String>,
    /// Why, in words for a person.
    pub reason: String,
    /// When it was dead-lettered, ms since epoch.
    pub created_at_ms: i64,
    /// The run that replays it, once replayed.
    pub replay_run_id: Option<RunId>,
    /// When it was replayed.
    pub replayed_at_ms: Option<i64>,
    /// The `Idempotency-Key` of the request that replayed it, when it had one.
    pub replay_key: Option<String>,
    /// When a person resolved (dismissed) it.
    pub resolved_at_ms: Option<i64>,
    /// Why, in the person's words.
    pub resolution_note: Option<String>,
}

/// Where a dead letter is in a person's hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterState {
    /// Neither replayed nor resolved.
    Open,
    /// Replayed as a new run.
    Replayed,
    /// Resolved (dismissed) by a person.
    Resolved,
}

/// Which dead letters a list or a bulk replay takes. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
    /// Of this flow.
    pub flow_id: Option<String>,
    /// Dead-lettered at or after this time, ms since epoch.
    pub since_ms: Option<i64>,
    /// Dead-lettered before this time, ms since epoch.
    pub until_ms: Option<i64>,
    /// Whose reason contains this text (any case).
    pub reason_contains: Option<String>,
    /// In this state.
    pub state: Option<DeadLetterState>,
    /// Older than this entry (the keyset cursor).
    pub before: Option<DeadLetterId>,
}

/// How to replay a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayPlan {
    /// The flow version the new run runs.
    pub flow_version: i64,
    /// Copy the finished steps of the dead run into the new run's journal, so it resumes at the
    /// step that failed; otherwise it starts over.
    pub keep_finished_steps: bool,
    /// The request's idempotency key: replaying again with the same key answers the same run.
    pub key: Option<String>,
}

/// What [`Store::dlq_replay`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    /// A new run was queued.
    Queued(RunId),
    /// This request's key replayed it before, as this run; nothing new was queued.
    Again(RunId),
    /// It was replayed before, by another request, as this run; nothing was queued.
    Before {
        /// The earlier replay's run.
        run_id: RunId,
        /// When.
        at_ms: i64,
    },
    /// A person resolved it; nothing was queued.
    Resolved {
        /// When.
        at_ms: i64,
        /// Their note.
        note: Option<String>,
    },
}

macro_rules! dead_letter_select {
    () => {
        "SELECT d.id AS id, d.run_id AS run_id, r.flow_id AS flow_id, \
         r.flow_version AS flow_version, r.attempts AS attempts, r.event_id AS event_id, \
         e.source AS event_source, e.kind AS event_kind, e.payload AS payload, \
         d.failed_step AS failed_step, d.reason AS reason, d.created_at_ms AS created_at_ms, \
         d.replay_run_id AS replay_run_id, d.replayed_at_ms AS replayed_at_ms, \
         d.replay_key AS replay_key, d.resolved_at_ms AS resolved_at_ms, \
         d.resolution_note AS resolution_note \
         FROM dead_letters d JOIN runs r ON r.id = d.run_id JOIN events e ON e.id = r.event_id "
    };
}

impl Store {
    /// Moves `worker`'s run to the dead-letter queue with the failing step and the reason.
    /// Fails with [`Error::LeaseLost`] (and changes nothing) when another worker took the run.
    pub async fn fail_run_to_dlq(
        &self,
        run_id: RunId,
        worker: &str,
        failed_step: Option<&str>,
        reason: &str,
    ) -> Result<DeadLetterId, Error> {
        let now = now_ms();
        // One transaction, so a run is never dead without its entry. Its first statement
        // writes, so SQLite takes the write lock up front instead of upgrading a stale read.
        let mut transaction = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE runs SET status = 'dead', last_error = $1, lease_owner = NULL, \
             lease_expires_at_ms = NULL, updated_at_ms = $2 \
             WHERE id = $3 AND status = 'running' AND lease_owner = $4",
        )
        .bind(reason)
        .bind(now)
        .bind(run_id.0)
        .bind(worker)
        .execute(&mut *transaction)
        .await?;
        if updated.rows_affected() != 1 {
            transaction.rollback().await?;
            return Err(Error::LeaseLost {
                run_id: run_id.0,
                worker: worker.to_owned(),
            });
        }
        let row = sqlx::query(
            "INSERT INTO dead_letters (run_id, failed_step, reason, created_at_ms) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(run_id.0)
        .bind(failed_step)
        .bind(reason)
        .bind(now)
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(DeadLetterId(row.try_get("id")?))
    }

    /// The `limit` most recent dead letters, newest first.
    pub async fn dlq_list(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(concat!(
            dead_letter_select!(),
            "ORDER BY d.id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_dead_letter).collect()
    }

    /// The dead letter with this id.
    pub async fn dlq_get(&self, id: DeadLetterId) -> Result<DeadLetter, Error> {
        let row = sqlx::query(concat!(dead_letter_select!(), "WHERE d.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "dead letter",
                name: id.to_string(),
            })?;
        decode_dead_letter(&row)
    }

    /// The dead letters matching `filter`, newest first, at most `limit`.
    pub async fn dlq_search(
        &self,
        filter: &DeadLetterFilter,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, Error> {
        let mut binds: Vec<Bind> = Vec::new();
        let mut param = |value: Bind| {
            binds.push(value);
            format!("${}", binds.len())
        };
        let mut conditions = Vec::new();
        if let Some(before) = filter.before {
            conditions.push(format!("d.id < {}", param(Bind::Int(before.0))));
        }
        if let Some(flow_id) = &filter.flow_id {
            conditions.push(format!(
                "r.flow_id = {}",
                param(Bind::Text(flow_id.clone()))
            ));
        }
        if let Some(since) = filter.since_ms {
            conditions.push(format!("d.created_at_ms >= {}", param(Bind::Int(since))));
        }
        if let Some(until) = filter.until_ms {
            conditions.push(format!("d.created_at_ms < {}", param(Bind::Int(until))));
        }
        if let Some(text) = &filter.reason_contains {
            // LIKE with its wildcards escaped, lowercased on both sides: the same on both backends.
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            conditions.push(format!(
                "LOWER(d.reason) LIKE {} ESCAPE '\\'",
                param(Bind::Text(format!("%{escaped}%")))
            ));
        }
        match filter.state {
            None => {}
            Some(DeadLetterState::Open) => {
                conditions.push("d.replay_run_id IS NULL AND d.resolved_at_ms IS NULL".into());
            }
            Some(DeadLetterState::Replayed) => {
                conditions.push("d.replay_run_id IS NOT NULL".into())
            }
            Some(DeadLetterState::Resolved) => {
                conditions.push("d.resolved_at_ms IS NOT NULL".into());
            }
        }
        let limit = param(Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
        let filter_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {} ", conditions.join(" AND "))
        };
        let sql = format!(
            "{}{filter_sql}ORDER BY d.id DESC LIMIT {limit}",
            dead_letter_select!()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(number) => query.bind(number),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(decode_dead_letter).collect()
    }

    /// The dead letter of run `run_id`, if it was dead-lettered.
    pub async fn dlq_for_run(&self, run_id: RunId) -> Result<Option<DeadLetter>, Error> {
        let row = sqlx::query(concat!(dead_letter_select!(), "WHERE d.run_id = $1"))
            .bind(run_id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_dead_letter).transpose()
    }

    /// Replays a dead letter once: enqueues a fresh run of its event and flow at
    /// `plan.flow_version` (keyed by the entry, so it is never queued twice) and marks the entry
    /// replayed, in one transaction. An entry replayed before answers [`Replayed::Again`] when
    /// `plan.key` is the key that replayed it, else [`Replayed::Before`]; a resolved entry
    /// answers [`Replayed::Resolved`]. Neither queues anything.
    pub async fn dlq_replay(&self, id: DeadLetterId, plan: &ReplayPlan) -> Result<Replayed, Error> {
        let entry = self.dlq_get(id).await?;
        if let Some(answer) = earlier_answer(&entry, plan) {
            return Ok(answer);
        }
        let now = now_ms();
        let mut transaction = self.pool.begin().await?;
        // The claim writes first, so SQLite takes the write lock before anything reads, and of
        // two concurrent replays exactly one claims the entry.
        let claimed = sqlx::query(
            "UPDATE dead_letters SET replayed_at_ms = $1, replay_key = $2 \
             WHERE id = $3 AND replay_run_id IS NULL AND resolved_at_ms IS NULL",
        )
        .bind(now)
        .bind(plan.key.as_deref())
        .bind(id.0)
        .execute(&mut *transaction)
        .await?;
        if claimed.rows_affected() != 1 {
            transaction.rollback().await?;
            let entry = self.dlq_get(id).await?;
            return earlier_answer(&entry, plan).ok_or_else(|| Error::Corrupt {
                field: "dead_letters.replay_run_id",
                reason: format!("dead letter {id} is neither open nor replayed"),
            });
        }
        let run_id = insert_run(
            &mut transaction,
            &entry.flow_id,
            plan.flow_version,
            entry.event_id,
            id.0,
        )
        .await?;
        sqlx::query("UPDATE dead_letters SET replay_run_id = $1 WHERE id = $2")
            .bind(run_id.0)
            .bind(id.0)
            .execute(&mut *transaction)
            .await?;
        if plan.keep_finished_steps {
            sqlx::query(
                "INSERT INTO run_steps (run_id, step_id, attempt, status, output, \
                 recorded_at_ms, input, duration_ms) \
                 SELECT $1, step_id, 0, status, output, recorded_at_ms, input, duration_ms \
                 FROM run_steps WHERE run_id = $2 AND status <> 'failed' ORDER BY id",
            )
            .bind(run_id.0)
            .bind(entry.run_id.0)
            .execute(&mut *transaction)
            .await?;
        }
        // The new run is about the same records as the dead one.
        sqlx::query(
            "INSERT INTO run_records (record, run_id, app) \
             SELECT record, $1, app FROM run_records WHERE run_id = $2 ON CONFLICT DO NOTHING",
        )
        .bind(run_id.0)
        .bind(entry.run_id.0)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(Replayed::Queued(run_id))
    }

    /// Resolves (dismisses) an open dead letter with a person's note. Answers the entry as it
    /// is now; an entry replayed or resolved before is answered unchanged (`resolved_at_ms`
    /// tells which happened).
    pub async fn dlq_resolve(&self, id: DeadLetterId, note: &str) -> Result<DeadLetter, Error> {
        sqlx::query(
            "UPDATE dead_letters SET resolved_at_ms = $1, resolution_note = $2 \
             WHERE id = $3 AND resolved_at_ms IS NULL AND replay_run_id IS NULL",
        )
        .bind(now_ms())
        .bind(note)
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        self.dlq_get(id).await
    }
}

/// A value bound to a dead-letter search.
enum Bind {
    Text(String),
    Int(i64),
}

/// What a replay of `entry` answers without queuing, when it was replayed or resolved before.
fn earlier_answer(entry: &DeadLetter, plan: &ReplayPlan) -> Option<Replayed> {
    if let Some(run_id) = entry.replay_run_id {
        if plan.key.is_some() && entry.replay_key == plan.key {
            return Some(Replayed::Again(run_id));
        }
        return Some(Replayed::Before {
            run_id,
            at_ms: entry.replayed_at_ms.unwrap_or(entry.created_at_ms),
        });
    }
    entry.resolved_at_ms.map(|at_ms| Replayed::Resolved {
        at_ms,
        note: entry.resolution_note.clone(),
    })
}

fn decode_dead_letter(row: &AnyRow) -> Result<DeadLetter, Error> {
    Ok(DeadLetter {
        id: DeadLetterId(row.try_get("id")?),
        run_id: RunId(row.try_get("run_id")?),
        flow_id: row.try_get("flow_id")?,
        flow_version: row.try_get("flow_version")?,
        attempts: row.try_get("attempts")?,
        event_id: EventId(row.try_get("event_id")?),
        event_source: row.try_get("event_source")?,
        event_kind: row.try_get("event_kind")?,
        payload: json_column(row, "payload")?,
        failed_step: row.try_get("failed_step")?,
        reason: row.try_get("reason")?,
        created_at_ms: row.try_get("created_at_ms")?,
        replay_run_id: row.try_get::<Option<i64>, _>("replay_run_id")?.map(RunId),
        replayed_at_ms: row.try_get("replayed_at_ms")?,
        replay_key: row.try_get("replay_key")?,
        resolved_at_ms: row.try_get("resolved_at_ms")?,
        resolution_note: row.try_get("resolution_note")?,
    })
}
