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
}

macro_rules! dead_letter_select {
    () => {
        "SELECT d.id AS id, d.run_id AS run_id, r.flow_id AS flow_id, \
         r.flow_version AS flow_version, r.attempts AS attempts, r.event_id AS event_id, \
         e.source AS event_source, e.kind AS event_kind, e.payload AS payload, \
         d.failed_step AS failed_step, d.reason AS reason, d.created_at_ms AS created_at_ms, \
         d.replay_run_id AS replay_run_id, d.replayed_at_ms AS replayed_at_ms \
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

    /// Enqueues a fresh run of the dead letter's event and flow (at `flow_version`, or the
    /// version that failed when `None`: a person may replay after fixing the flow), and marks
    /// the entry replayed. Replaying an entry again answers the same run: the run is keyed by
    /// the entry, so a crash between the two writes is repaired by replaying again.
    pub async fn dlq_replay(
        &self,
        id: DeadLetterId,
        flow_version: Option<i64>,
    ) -> Result<RunId, Error> {
        let entry = self.dlq_get(id).await?;
        let mut connection = self.pool.acquire().await?;
        let run_id = insert_run(
            &mut connection,
            &entry.flow_id,
            flow_version.unwrap_or(entry.flow_version),
            entry.event_id,
            id.0,
        )
        .await?;
        sqlx::query(
            "UPDATE dead_letters SET replay_run_id = $1, replayed_at_ms = $2 \
             WHERE id = $3 AND replay_run_id IS NULL",
        )
        .bind(run_id.0)
        .bind(now_ms())
        .bind(id.0)
        .execute(&mut *connection)
        .await?;
        Ok(run_id)
    }
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
    })
}
