//! Durable cursors of polling triggers: where a flow's poll left off, one per
//! `(flow_id, trigger_key)`.
//!
//! A cursor is opaque JSON to the store (the connector decides what it holds, e.g. an update time
//! plus an id). It only moves by compare-and-set: a poller states the cursor it started from, and
//! the write succeeds only when that is still the stored one. Two pollers that raced past a lease
//! therefore cannot both advance it, and a slow one cannot move it back.

use sqlx::Row;

use crate::{Error, Store, now_ms};

impl Store {
    /// The stored cursor of `trigger_key` in `flow_id`, or `None` before the first poll.
    pub async fn get_cursor(
        &self,
        flow_id: &str,
        trigger_key: &str,
    ) -> Result<Option<serde_json::Value>, Error> {
        let row = sqlx::query(
            "SELECT cursor_json FROM poll_cursors WHERE flow_id = $1 AND trigger_key = $2",
        )
        .bind(flow_id)
        .bind(trigger_key)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let text: String = row.try_get("cursor_json")?;
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|error| Error::Corrupt {
                        field: "cursor_json",
                        reason: error.to_string(),
                    })
            }
        }
    }

    /// Replaces the cursor with `new` when the stored one is still `expected` (`None`: no cursor
    /// stored yet). Answers whether it was replaced; `false` means another poller moved it first,
    /// and this poller should drop its result (the records it took in are deduplicated anyway).
    ///
    /// The comparison is on the serialized JSON; `expected` should be what
    /// [`Store::get_cursor`] returned, which serializes the same way.
    pub async fn set_cursor(
        &self,
        flow_id: &str,
        trigger_key: &str,
        expected: Option<&serde_json::Value>,
        new: &serde_json::Value,
    ) -> Result<bool, Error> {
        let new = new.to_string();
        let result =
            match expected {
                // The primary key decides between concurrent first writers: one inserts, the others
                // conflict and do nothing.
                None => sqlx::query(
                    "INSERT INTO poll_cursors (flow_id, trigger_key, cursor_json, updated_at_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (flow_id, trigger_key) DO NOTHING",
                )
                .bind(flow_id)
                .bind(trigger_key)
                .bind(new)
                .bind(now_ms())
                .execute(&self.pool)
                .await?,
                Some(expected) => {
                    sqlx::query(
                        "UPDATE poll_cursors SET cursor_json = $3, updated_at_ms = $4 \
                     WHERE flow_id = $1 AND trigger_key = $2 AND cursor_json = $5",
                    )
                    .bind(flow_id)
                    .bind(trigger_key)
                    .bind(new)
                    .bind(now_ms())
                    .bind(expected.to_string())
                    .execute(&self.pool)
                    .await?
                }
            };
        Ok(result.rows_affected() == 1)
    }
}
