//! Short leases that make a piece of work single-flight across processes sharing the database
//! (a token refresh, a schedule tick). In one process a mutex suffices; the lease covers several
//! `tether serve` workers on one PostgreSQL, or a CLI next to a server on one SQLite file.

use crate::{Error, Store};

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
        // One statement for both backends: an upsert that only takes over an expired or own lease.
        // It goes through the run path's writer (group commit): actions take record leases.
        let (key, owner) = (key.to_owned(), owner.to_owned());
        self.writer
            .write(move |connection| {
                let (key, owner) = (key.clone(), owner.clone());
                Box::pin(async move {
                    let result = sqlx::query(
                        "INSERT INTO leases (lease_key, owner, expires_at_ms) VALUES ($1, $2, $3) \
                         ON CONFLICT (lease_key) DO UPDATE SET owner = excluded.owner, \
                         expires_at_ms = excluded.expires_at_ms \
                         WHERE leases.expires_at_ms < $4 OR leases.owner = excluded.owner",
                    )
                    .bind(key)
                    .bind(owner)
                    .bind(expires_at_ms)
                    .bind(now_ms)
                    .execute(&mut *connection)
                    .await?;
                    Ok(result.rows_affected() == 1)
                })
            })
            .await
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
