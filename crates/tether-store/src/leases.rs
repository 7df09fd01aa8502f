//! Short leases that make a piece of work single-flight across processes sharing the database
//! (a token refresh, a schedule tick). In one process a mutex suffices; the lease covers several
//! `tether serve` workers on one PostgreSQL, or a CLI next to a server on one SQLite file.

use std::collections::HashSet;

use sqlx::Row;

use crate::{Error, Store};

/// A lease asked for, as the writer queues it.
#[derive(Debug)]
pub(crate) struct LeaseJob {
    pub(crate) key: String,
    pub(crate) owner: String,
    pub(crate) now_ms: i64,
    pub(crate) expires_at_ms: i64,
}

/// Rows per statement of [`take_leases`] (three values each).
const ROWS_PER_STATEMENT: usize = 500;

/// Takes the leases of `jobs` on `connection` (a transaction's) and answers, per job in order,
/// whether its owner holds its lease now: one upsert per round that only takes over an expired or
/// own lease, for both backends. One statement may not hold a key twice (PostgreSQL refuses to
/// update a row twice in one statement), so a key asked for again in the same batch goes in the
/// next round, where it finds the first asker's lease as another caller would. A lease is
/// judged expired against the earliest `now_ms` of the round: no caller's lease is taken over
/// before that caller's clock says it expired.
pub(crate) async fn take_leases(
    connection: &mut sqlx::AnyConnection,
    jobs: &[&LeaseJob],
) -> Result<Vec<bool>, Error> {
    let mut held = vec![false; jobs.len()];
    let mut left: Vec<usize> = (0..jobs.len()).collect();
    while !left.is_empty() {
        let mut keys = HashSet::new();
        let (round, later): (Vec<usize>, Vec<usize>) = left
            .iter()
            .partition(|&&at| keys.insert(jobs[at].key.as_str()));
        for chunk in round.chunks(ROWS_PER_STATEMENT) {
            let now_ms = chunk.iter().map(|&at| jobs[at].now_ms).min().unwrap_or(0);
            let sql = format!(
                "INSERT INTO leases (lease_key, owner, expires_at_ms) VALUES {} \
                 ON CONFLICT (lease_key) DO UPDATE SET owner = excluded.owner, \
                 expires_at_ms = excluded.expires_at_ms \
                 WHERE leases.expires_at_ms < {} OR leases.owner = excluded.owner \
                 RETURNING lease_key",
                crate::placeholders(connection, chunk.len(), 3, 1),
                crate::param(connection, chunk.len() * 3 + 1)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for &at in chunk {
                let job = jobs[at];
                query = query
                    .bind(job.key.as_str())
                    .bind(job.owner.as_str())
                    .bind(job.expires_at_ms);
            }
            let taken: HashSet<String> = query
                .bind(now_ms)
                .fetch_all(&mut *connection)
                .await?
                .iter()
                .map(|row| row.try_get("lease_key"))
                .collect::<Result<_, _>>()?;
            for &at in chunk {
                held[at] = taken.contains(&jobs[at].key);
            }
        }
        left = later;
    }
    Ok(held)
}

impl Store {
    /// Takes the lease `key` for `owner` until `expires_at_ms`, when it is free, expired or already
    /// `owner`'s. Answers whether `owner` holds it now.
    pub async fn try_lease(
        &self,
        key: &str,
        owner: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<bool, Error> {
        let held = self
            .try_leases(&[key], owner, now_ms, expires_at_ms)
            .await?;
        Ok(held.first().copied().unwrap_or(false))
    }

    /// [`Store::try_lease`] for each of `keys` at once (an action's record leases); answers, per
    /// key in order, whether `owner` holds it now. Each key is taken or not on its own.
    ///
    /// The leases go through the run path's writer (group commit): the leases asked for by every
    /// caller of one batch are taken in one statement.
    pub async fn try_leases(
        &self,
        keys: &[&str],
        owner: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<Vec<bool>, Error> {
        let answers: Vec<_> = keys
            .iter()
            .map(|key| {
                self.writer.take_lease(LeaseJob {
                    key: (*key).to_owned(),
                    owner: owner.to_owned(),
                    now_ms,
                    expires_at_ms,
                })
            })
            .collect();
        let mut held = Vec::with_capacity(answers.len());
        for answer in answers {
            held.push(answer.await?);
        }
        Ok(held)
    }

    /// Gives the lease back, when `owner` still holds it.
    pub async fn release_lease(&self, key: &str, owner: &str) -> Result<(), Error> {
        let (key, owner) = (key.to_owned(), owner.to_owned());
        self.writer
            .write(move |connection| {
                let (key, owner) = (key.clone(), owner.clone());
                Box::pin(async move {
                    sqlx::query("DELETE FROM leases WHERE lease_key = $1 AND owner = $2")
                        .bind(key)
                        .bind(owner)
                        .execute(&mut *connection)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    /// Extends, until `until_ms`, everything `owner` (a worker) holds: the runs it leased and the
    /// leases held by `owner` or on its behalf (owner names `<owner>/…`, such as a run's record
    /// lease). A live worker calls this on a heartbeat, so its leases can be short and a dead
    /// worker's work is taken over soon after it died. Answers how many rows were extended.
    pub async fn renew_leases(&self, owner: &str, until_ms: i64) -> Result<u64, Error> {
        let runs = sqlx::query(
            "UPDATE runs SET lease_expires_at_ms = $2 \
             WHERE lease_owner = $1 AND status = 'running' AND lease_expires_at_ms < $2",
        )
        .bind(owner)
        .bind(until_ms)
        .execute(&self.pool)
        .await?;
        // `substr` rather than LIKE: worker names may hold `_`, a LIKE wildcard.
        let leases = sqlx::query(
            "UPDATE leases SET expires_at_ms = $2 \
             WHERE (owner = $1 OR substr(owner, 1, length($1) + 1) = $1 || '/') \
             AND expires_at_ms < $2",
        )
        .bind(owner)
        .bind(until_ms)
        .execute(&self.pool)
        .await?;
        Ok(runs.rows_affected() + leases.rows_affected())
    }
}
