//! Retention: finished runs and their journals are kept for a while, then swept.
//!
//! `tether serve` calls [`Store::sweep_finished_runs`] every hour with `now - retention`. Only
//! runs that are `done` (every step ran, or the filter skipped the rest) go: queued, running and
//! retrying runs are still work, a dead run stays with its dead letter until a person acts, and a
//! done run that replayed a dead letter stays while the dead letter points to it. Events stay:
//! they are what makes a redelivered webhook or a re-read record a duplicate, so sweeping them
//! would start old work again. Links stay too: they are the id map, not history (but the
//! search index of the runs swept, `run_records`, and their record of links written go with them).

use sqlx::Row;

use crate::{Error, Store};

/// Runs deleted per transaction: small enough that a sweep never holds SQLite's write lock for
/// long, so webhooks and workers keep going while it runs.
pub const SWEEP_BATCH: usize = 500;

impl Store {
    /// Deletes the `done` runs last updated before `before_ms`, with their journals, in
    /// transactions of at most `batch` runs (see the module docs for what is kept); answers how
    /// many runs were deleted.
    pub async fn sweep_finished_runs(&self, before_ms: i64, batch: usize) -> Result<u64, Error> {
        let batch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let mut deleted = 0;
        loop {
            // The ids are read outside the transaction, so the transaction starts with a write
            // and SQLite takes its write lock up front instead of upgrading a read. A done run
            // never changes again, so the ids stay right.
            let ids: Vec<i64> = sqlx::query(
                "SELECT id FROM runs WHERE status = 'done' AND updated_at_ms < $1 \
                 AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.replay_run_id = runs.id) \
                 ORDER BY id LIMIT $2",
            )
            .bind(before_ms)
            .bind(batch)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
            if ids.is_empty() {
                return Ok(deleted);
            }
            let list = (1..=ids.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut transaction = self.pool.begin().await?;
            for table in [
                "run_steps WHERE run_id",
                "run_records WHERE run_id",
                "run_links WHERE run_id",
                "runs WHERE id",
            ] {
                let sql = format!("DELETE FROM {table} IN ({list})");
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in &ids {
                    query = query.bind(*id);
                }
                let done = query.execute(&mut *transaction).await?;
                if table.starts_with("runs") {
                    deleted += done.rows_affected();
                }
            }
            transaction.commit().await?;
            if ids.len() < usize::try_from(batch).unwrap_or(usize::MAX) {
                return Ok(deleted);
            }
        }
    }
}
