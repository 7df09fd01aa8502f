//! What the flows list shows of each flow's runs, for a page of flows at once: its last run, its
//! runs of a recent window by outcome, and its open dead letters.
//!
//! A page costs a fixed number of statements however many runs are kept: one index seek for the
//! window's first run id, one statement whose per-flow subqueries are index seeks and index-only
//! counts (`runs_by_flow`, `runs_by_flow_status`), and one count over the open dead letters only
//! (`dead_letters_open`). The plan test below checks this on SQLite.

use sqlx::Row;

use crate::runs::{RunId, RunStatus};
use crate::{Error, Store};

/// A flow's last run, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    /// The run.
    pub id: RunId,
    /// Where it is now.
    pub status: RunStatus,
    /// When it was created, ms since epoch.
    pub created_at_ms: i64,
    /// When it last changed (for a finished run: when it finished), ms since epoch.
    pub updated_at_ms: i64,
}

/// What the flows list shows of one flow's runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRunStats {
    /// The flow.
    pub flow_id: String,
    /// Its newest run, if it ever ran.
    pub last_run: Option<LastRun>,
    /// Its runs created in the window that finished (`done`).
    pub done_since: i64,
    /// Its runs created in the window that failed for good (`dead`).
    pub dead_since: i64,
    /// Its dead letters neither replayed nor resolved, of any age.
    pub open_dead_letters: i64,
}

/// The per-flow statistics of the flows `$1 ..= $2`, counting runs from the id `$3` on.
const STATS: &str = "SELECT s.flow_id AS flow_id, s.done_since AS done_since, \
     s.dead_since AS dead_since, r.id AS run_id, r.status AS status, \
     r.created_at_ms AS created_at_ms, r.updated_at_ms AS updated_at_ms \
     FROM (SELECT f.id AS flow_id, \
       (SELECT MAX(x.id) FROM runs x WHERE x.flow_id = f.id) AS last_id, \
       (SELECT COUNT(*) FROM runs x WHERE x.flow_id = f.id AND x.status = 'done' AND x.id >= $3) \
         AS done_since, \
       (SELECT COUNT(*) FROM runs x WHERE x.flow_id = f.id AND x.status = 'dead' AND x.id >= $3) \
         AS dead_since \
       FROM flows f WHERE f.id >= $1 AND f.id <= $2 AND f.deleted_at_ms IS NULL) s \
     LEFT JOIN runs r ON r.id = s.last_id";

/// Open dead letters of the flows `$1 ..= $2`, by flow. `CROSS JOIN` makes SQLite start from the
/// open dead letters (its partial index) instead of every run of the flows; on PostgreSQL it is
/// a plain join.
const OPEN_DEAD_LETTERS: &str = "SELECT r.flow_id AS flow_id, COUNT(*) AS open \
     FROM dead_letters d CROSS JOIN runs r \
     WHERE r.id = d.run_id AND d.replay_run_id IS NULL AND d.resolved_at_ms IS NULL \
     AND r.flow_id >= $1 AND r.flow_id <= $2 GROUP BY r.flow_id";

/// The first run created at or after `$1`, from `runs_by_creation`.
const FIRST_RUN_SINCE: &str =
    "SELECT id FROM runs WHERE created_at_ms >= $1 ORDER BY created_at_ms, id LIMIT 1";

impl Store {
    /// The run statistics of every flow (not deleted) whose id is between `first_id` and
    /// `last_id` (both included: a page of the flows list), by id; the window is the runs
    /// created at or after `since_ms`.
    ///
    /// The window starts at the first run id created at or after `since_ms`: ids grow with
    /// creation, so that is every run of the window (on PostgreSQL, a run committed late with an
    /// earlier id may be left out, which a list of counts can bear).
    pub async fn flow_run_stats(
        &self,
        first_id: &str,
        last_id: &str,
        since_ms: i64,
    ) -> Result<Vec<FlowRunStats>, Error> {
        let from_id: i64 = match sqlx::query(FIRST_RUN_SINCE)
            .bind(since_ms)
            .fetch_optional(&self.pool)
            .await?
        {
            Some(row) => row.try_get("id")?,
            None => i64::MAX,
        };
        let rows = sqlx::query(STATS)
            .bind(first_id)
            .bind(last_id)
            .bind(from_id)
            .fetch_all(&self.pool)
            .await?;
        let open: std::collections::HashMap<String, i64> = sqlx::query(OPEN_DEAD_LETTERS)
            .bind(first_id)
            .bind(last_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("flow_id")?, row.try_get("open")?)))
            .collect::<Result<_, Error>>()?;
        let mut stats = rows
            .iter()
            .map(|row| {
                let flow_id: String = row.try_get("flow_id")?;
                let run_id: Option<i64> = row.try_get("run_id")?;
                let last_run = match run_id {
                    None => None,
                    Some(id) => {
                        let status: String = row.try_get("status")?;
                        Some(LastRun {
                            id: RunId(id),
                            status: RunStatus::from_name(&status).ok_or_else(|| {
                                Error::Corrupt {
                                    field: "runs.status",
                                    reason: status.clone(),
                                }
                            })?,
                            created_at_ms: row.try_get("created_at_ms")?,
                            updated_at_ms: row.try_get("updated_at_ms")?,
                        })
                    }
                };
                Ok(FlowRunStats {
                    open_dead_letters: open.get(&flow_id).copied().unwrap_or(0),
                    done_since: row.try_get("done_since")?,
                    dead_since: row.try_get("dead_since")?,
                    last_run,
                    flow_id,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        stats.sort_by(|a, b| a.flow_id.cmp(&b.flow_id));
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Vault;

    /// Each statement of the flows list reads an index: the per-flow subqueries seek
    /// `runs_by_flow` and count `runs_by_flow_status` without reading a row, and the open dead
    /// letters come from `dead_letters_open`; nothing scans the runs.
    #[tokio::test]
    async fn the_flow_statistics_read_indexes_only_on_sqlite() {
        let path = std::env::temp_dir().join(format!(
            "tether-store-flow-stats-plans-{}-{}.sqlite",
            std::process::id(),
            fastrand::u64(..)
        ));
        let store = Store::open_sqlite(&path, Vault::from_key(&[3; 32]))
            .await
            .unwrap();
        let explain = |sql: &str| format!("EXPLAIN QUERY PLAN {sql}");
        let mut plans: Vec<(String, Vec<String>)> = Vec::new();
        for (sql, texts, ints) in [
            (STATS, 2, 1),
            (OPEN_DEAD_LETTERS, 2, 0),
            (FIRST_RUN_SINCE, 0, 1),
        ] {
            let sql = explain(sql);
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for _ in 0..texts {
                query = query.bind("f");
            }
            for _ in 0..ints {
                query = query.bind(1_i64);
            }
            let details: Vec<String> = query
                .fetch_all(&store.pool)
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String, _>("detail").unwrap())
                .collect();
            plans.push((sql, details));
        }
        let (stats, open, first) = (&plans[0], &plans[1], &plans[2]);
        let has = |plan: &(String, Vec<String>), text: &str| {
            assert!(
                plan.1.iter().any(|step| step.contains(text)),
                "{}\ndoes not read {text}: {:#?}",
                plan.0,
                plan.1
            );
        };
        has(stats, "SEARCH f USING");
        has(stats, "COVERING INDEX runs_by_flow (flow_id=?)");
        has(
            stats,
            "COVERING INDEX runs_by_flow_status (flow_id=? AND status=? AND id>?)",
        );
        has(stats, "SEARCH r USING INTEGER PRIMARY KEY");
        has(open, "SCAN d USING INDEX dead_letters_open");
        has(open, "SEARCH r USING INTEGER PRIMARY KEY");
        has(first, "INDEX runs_by_creation");
        for (sql, details) in [stats, first] {
            assert!(
                !details
                    .iter()
                    .any(|step| step.contains("TEMP B-TREE") || step.starts_with("SCAN")),
                "{sql}\nsorts or scans: {details:#?}"
            );
        }
        // Grouping the open dead letters sorts them, and only them.
        assert!(
            !open.1.iter().any(|step| step.starts_with("SCAN r")),
            "{}: {:#?}",
            open.0,
            open.1
        );
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// The flows list's statistics at 500 flows and 1,000,000 runs (all inside the window, the
    /// worst case for the counts). A measurement, not a check: run it by hand with
    /// `cargo test -p tether-store --lib flow_stats -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore = "seeds a million runs; a measurement to run by hand"]
    async fn the_flow_statistics_of_500_flows_over_a_million_runs() {
        let path = std::env::temp_dir().join(format!(
            "tether-store-flow-stats-1m-{}.sqlite",
            std::process::id()
        ));
        let store = Store::open_sqlite(&path, Vault::from_key(&[3; 32]))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let mut ids: Vec<String> = (0..500).map(|n| format!("flow-{n}")).collect();
        ids.sort();
        for id in &ids {
            store
                .create_flow(id, id, "id: x\n", crate::now_ms())
                .await
                .unwrap();
        }
        store
            .seed_runs(crate::Seed {
                runs: 1_000_000,
                flows: 500,
                journal_every: 0,
                batch: 5_000,
            })
            .await
            .unwrap();
        println!("seeded in {:?}", started.elapsed());
        for (first, last) in [(0, 199), (200, 399), (400, 499)] {
            let started = std::time::Instant::now();
            let stats = store
                .flow_run_stats(&ids[first], &ids[last], 0)
                .await
                .unwrap();
            println!(
                "flows {first}..={last}: {} flows, {} runs counted, in {:?}",
                stats.len(),
                stats.iter().map(|s| s.done_since).sum::<i64>(),
                started.elapsed()
            );
        }
        let started = std::time::Instant::now();
        let stats = store
            .flow_run_stats(&ids[0], &ids[199], crate::now_ms() - 1_000)
            .await
            .unwrap();
        println!(
            "a 1 s window, 200 flows: {} runs counted, in {:?}",
            stats.iter().map(|s| s.done_since).sum::<i64>(),
            started.elapsed()
        );
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
