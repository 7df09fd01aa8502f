//! Flows in the store, versioned: each flow has a draft (its YAML text exactly as written, with a
//! revision that moves on every save) and published versions, each immutable, one of which is the
//! current one new events run.
//!
//! The store does not read YAML: the caller (the service) parses and hashes a flow and hands the
//! store its id, name, text, content hash and run number. A store-wide change counter moves with
//! every publish, enable and disable, so another process notices a change with one cheap read
//! ([`Store::flow_change_counter`], then [`Store::flows_changed_since`]).
//!
//! Deleting a flow hides it and stops it, but keeps its row and versions: runs enqueued before
//! the delete finish on their version, and run history keeps its name. Every read but
//! [`Store::flows_changed_since`] (which other processes need, to retire it) skips a deleted flow,
//! and creating a flow with its id again revives the row with a fresh draft.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Store};

/// A stored flow with its draft and, once published, its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFlow {
    /// The flow's id (the YAML's `id`), stable for its life.
    pub id: String,
    /// Its name for people, from the draft.
    pub name: String,
    /// Whether it starts runs (a disabled flow starts none; its queued runs still finish).
    pub enabled: bool,
    /// The draft: the YAML text exactly as last saved.
    pub draft_yaml: String,
    /// The draft's revision, from 1, moved by every save; what `If-Match` compares.
    pub draft_revision: i64,
    /// When the draft was last saved, ms since epoch.
    pub draft_updated_at_ms: i64,
    /// When the flow was created, ms since epoch.
    pub created_at_ms: i64,
    /// The value of the change counter at its last publish, enable or disable.
    pub change_seq: i64,
    /// The version new events run; `None` before the first publish.
    pub current: Option<FlowVersion>,
    /// When it was deleted, ms since epoch; only [`Store::flows_changed_since`] answers deleted
    /// flows.
    pub deleted_at_ms: Option<i64>,
}

/// One published version of a flow; never changed once written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowVersion {
    /// The flow.
    pub flow_id: String,
    /// Its number for people within the flow: 1, 2, …
    pub seq: i64,
    /// The flow's content hash, 16 hex digits (`Flow.version`).
    pub hash: String,
    /// The number runs record for this version (derived from the hash).
    pub number: i64,
    /// The YAML text exactly as published.
    pub yaml: String,
    /// What the publisher said about it.
    pub message: String,
    /// When it was published, ms since epoch.
    pub published_at_ms: i64,
}

/// What saving a draft did.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftSave {
    /// Saved; the flow as it is now.
    Saved(Box<StoredFlow>),
    /// Not saved: the draft's revision is no longer the expected one; this is the current one.
    Stale {
        /// The draft's current revision.
        current_revision: i64,
    },
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The flow's current version after the call.
    pub version: FlowVersion,
    /// `false` when the text was already the current version's, so no version was added.
    pub created: bool,
}

/// `SELECT` of a flow with its current version, then `$rest` (a literal, so the SQL stays static).
macro_rules! select_flow {
    ($rest:literal) => {
        concat!(
            "SELECT f.id, f.name, f.enabled, f.draft_yaml, f.draft_revision, \
             f.draft_updated_at_ms, f.created_at_ms, f.change_seq, f.deleted_at_ms, v.seq, \
             v.hash, v.number, v.yaml, v.message, v.published_at_ms \
             FROM flows f LEFT JOIN flow_versions v ON v.flow_id = f.id AND v.seq = f.current_seq ",
            $rest
        )
    };
}

/// `SELECT` of versions, then `$rest`.
macro_rules! select_version {
    ($rest:literal) => {
        concat!(
            "SELECT flow_id, seq, hash, number, yaml, message, published_at_ms \
             FROM flow_versions ",
            $rest
        )
    };
}

impl Store {
    /// Creates the flow `id` with `yaml` as its draft (revision 1), not yet published, enabled.
    /// [`Error::Conflict`] when a flow with that id exists. A deleted flow with that id is
    /// revived instead: a new draft (its revision moves on, so no old `ETag` matches), nothing
    /// current, its old versions kept for history.
    pub async fn create_flow(
        &self,
        id: &str,
        name: &str,
        yaml: &str,
        now_ms: i64,
    ) -> Result<StoredFlow, Error> {
        let inserted = sqlx::query(
            "INSERT INTO flows (id, name, enabled, draft_yaml, draft_revision, \
             draft_updated_at_ms, created_at_ms, current_seq, change_seq) \
             VALUES ($1, $2, 1, $3, 1, $4, $4, NULL, 0) ON CONFLICT (id) DO UPDATE SET \
             name = $2, enabled = 1, draft_yaml = $3, \
             draft_revision = flows.draft_revision + 1, draft_updated_at_ms = $4, \
             created_at_ms = $4, current_seq = NULL, deleted_at_ms = NULL \
             WHERE flows.deleted_at_ms IS NOT NULL",
        )
        .bind(id)
        .bind(name)
        .bind(yaml)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(Error::Conflict {
                what: "flow",
                name: id.to_owned(),
            });
        }
        self.flow(id).await?.ok_or_else(|| not_found(id))
    }

    /// The flow `id`, with its current version.
    pub async fn flow(&self, id: &str) -> Result<Option<StoredFlow>, Error> {
        let row = sqlx::query(select_flow!("WHERE f.id = $1 AND f.deleted_at_ms IS NULL"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_flow).transpose()
    }

    /// Up to `limit` flows by id, those after `after` (the last id of the previous page).
    pub async fn flows_page(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredFlow>, Error> {
        let rows = sqlx::query(select_flow!(
            "WHERE f.id > $1 AND f.deleted_at_ms IS NULL ORDER BY f.id LIMIT $2"
        ))
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_flow).collect()
    }

    /// Every flow, by id.
    pub async fn all_flows(&self) -> Result<Vec<StoredFlow>, Error> {
        self.flows_page(None, i64::MAX).await
    }

    /// Replaces the draft of flow `id` with `yaml` (and its name with `name`) when its revision
    /// is still `expected_revision` (`None`: whatever it is). [`Error::NotFound`] when there is
    /// no such flow.
    pub async fn save_flow_draft(
        &self,
        id: &str,
        name: &str,
        yaml: &str,
        expected_revision: Option<i64>,
        now_ms: i64,
    ) -> Result<DraftSave, Error> {
        macro_rules! set_draft {
            ($rest:literal) => {
                concat!(
                    "UPDATE flows SET name = $2, draft_yaml = $3, \
                     draft_revision = draft_revision + 1, draft_updated_at_ms = $4 \
                     WHERE id = $1 AND deleted_at_ms IS NULL",
                    $rest
                )
            };
        }
        let updated = match expected_revision {
            None => {
                sqlx::query(set_draft!(""))
                    .bind(id)
                    .bind(name)
                    .bind(yaml)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?
            }
            Some(expected) => {
                sqlx::query(set_draft!(" AND draft_revision = $5"))
                    .bind(id)
                    .bind(name)
                    .bind(yaml)
                    .bind(now_ms)
                    .bind(expected)
                    .execute(&self.pool)
                    .await?
            }
        };
        let flow = self.flow(id).await?.ok_or_else(|| not_found(id))?;
        if updated.rows_affected() == 0 {
            return Ok(DraftSave::Stale {
                current_revision: flow.draft_revision,
            });
        }
        Ok(DraftSave::Saved(Box::new(flow)))
    }

    /// Publishes `yaml` as the current version of flow `id` with its content `hash` and run
    /// `number`, unless it is byte for byte the current version's text already (then nothing
    /// changes and `created` is `false`). Moves the change counter. [`Error::NotFound`] when
    /// there is no such flow.
    pub async fn publish_flow(
        &self,
        id: &str,
        yaml: &str,
        hash: &str,
        number: i64,
        message: &str,
        now_ms: i64,
    ) -> Result<Published, Error> {
        let mut transaction = self.pool.begin().await?;
        // Writing first takes SQLite's write lock up front, and on PostgreSQL the counter's row
        // lock orders concurrent publishes, so counter values commit in order.
        let counter: i64 = sqlx::query(
            "UPDATE flow_changes SET counter = counter + 1 WHERE id = 1 RETURNING counter",
        )
        .fetch_one(&mut *transaction)
        .await?
        .try_get("counter")?;
        let current = sqlx::query(select_flow!("WHERE f.id = $1 AND f.deleted_at_ms IS NULL"))
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(current) = current.as_ref().map(decode_flow).transpose()? else {
            return Err(not_found(id));
        };
        if let Some(version) = current.current.filter(|version| version.yaml == yaml) {
            // Dropping the transaction rolls the counter back: nothing changed.
            return Ok(Published {
                version,
                created: false,
            });
        }
        let seq: i64 = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM flow_versions WHERE flow_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *transaction)
        .await?
        .try_get("seq")?;
        sqlx::query(
            "INSERT INTO flow_versions (flow_id, seq, hash, number, yaml, message, \
             published_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(seq)
        .bind(hash)
        .bind(number)
        .bind(yaml)
        .bind(message)
        .bind(now_ms)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("UPDATE flows SET current_seq = $2, change_seq = $3 WHERE id = $1")
            .bind(id)
            .bind(seq)
            .bind(counter)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(Published {
            version: FlowVersion {
                flow_id: id.to_owned(),
                seq,
                hash: hash.to_owned(),
                number,
                yaml: yaml.to_owned(),
                message: message.to_owned(),
                published_at_ms: now_ms,
            },
            created: true,
        })
    }

    /// Enables or disables flow `id`; answers whether that changed anything (the change counter
    /// moves only then). [`Error::NotFound`] when there is no such flow.
    pub async fn set_flow_enabled(&self, id: &str, enabled: bool) -> Result<bool, Error> {
        let mut transaction = self.pool.begin().await?;
        let counter: i64 = sqlx::query(
            "UPDATE flow_changes SET counter = counter + 1 WHERE id = 1 RETURNING counter",
        )
        .fetch_one(&mut *transaction)
        .await?
        .try_get("counter")?;
        let row = sqlx::query("SELECT enabled FROM flows WHERE id = $1 AND deleted_at_ms IS NULL")
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(row) = row else {
            return Err(not_found(id));
        };
        let was: i64 = row.try_get("enabled")?;
        if (was != 0) == enabled {
            return Ok(false);
        }
        sqlx::query("UPDATE flows SET enabled = $2, change_seq = $3 WHERE id = $1")
            .bind(id)
            .bind(i64::from(enabled))
            .bind(counter)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Up to `limit` published versions of flow `id`, newest first, those before `before_seq`.
    pub async fn flow_versions(
        &self,
        id: &str,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<FlowVersion>, Error> {
        let rows = sqlx::query(select_version!(
            "WHERE flow_id = $1 AND seq < $2 \
             ORDER BY seq DESC LIMIT $3"
        ))
        .bind(id)
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_version).collect()
    }

    /// Version `seq` (1, 2, …) of flow `id`.
    pub async fn flow_version(&self, id: &str, seq: i64) -> Result<Option<FlowVersion>, Error> {
        let row = sqlx::query(select_version!("WHERE flow_id = $1 AND seq = $2"))
            .bind(id)
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_version).transpose()
    }

    /// The latest version of flow `id` with content hash `hash` (a text published again with
    /// other comments keeps its hash).
    pub async fn flow_version_by_hash(
        &self,
        id: &str,
        hash: &str,
    ) -> Result<Option<FlowVersion>, Error> {
        let row = sqlx::query(select_version!(
            "WHERE flow_id = $1 AND hash = $2 \
             ORDER BY seq DESC LIMIT 1"
        ))
        .bind(id)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode_version).transpose()
    }

    /// The latest version of flow `id` whose run number is `number` (what a run records).
    pub async fn flow_version_by_number(
        &self,
        id: &str,
        number: i64,
    ) -> Result<Option<FlowVersion>, Error> {
        let row = sqlx::query(select_version!(
            "WHERE flow_id = $1 AND number = $2 \
             ORDER BY seq DESC LIMIT 1"
        ))
        .bind(id)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode_version).transpose()
    }

    /// The change counter: moved by every publish, enable and disable.
    pub async fn flow_change_counter(&self) -> Result<i64, Error> {
        Ok(sqlx::query("SELECT counter FROM flow_changes WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get("counter")?)
    }

    /// Deletes flow `id`: hidden from every read but [`Store::flows_changed_since`], disabled,
    /// and the change counter moves so other processes retire it. Its versions, runs and dead
    /// letters stay. [`Error::NotFound`] when there is no such flow (or it is deleted already).
    pub async fn delete_flow(&self, id: &str, now_ms: i64) -> Result<StoredFlow, Error> {
        let mut transaction = self.pool.begin().await?;
        let counter: i64 = sqlx::query(
            "UPDATE flow_changes SET counter = counter + 1 WHERE id = 1 RETURNING counter",
        )
        .fetch_one(&mut *transaction)
        .await?
        .try_get("counter")?;
        let deleted = sqlx::query(
            "UPDATE flows SET deleted_at_ms = $2, enabled = 0, change_seq = $3 \
             WHERE id = $1 AND deleted_at_ms IS NULL",
        )
        .bind(id)
        .bind(now_ms)
        .bind(counter)
        .execute(&mut *transaction)
        .await?;
        if deleted.rows_affected() == 0 {
            return Err(not_found(id));
        }
        let row = sqlx::query(select_flow!("WHERE f.id = $1"))
            .bind(id)
            .fetch_one(&mut *transaction)
            .await?;
        let flow = decode_flow(&row)?;
        transaction.commit().await?;
        Ok(flow)
    }

    /// The flows published, enabled, disabled or deleted after the change counter was
    /// `counter`, by id (a deleted one has `deleted_at_ms`).
    pub async fn flows_changed_since(&self, counter: i64) -> Result<Vec<StoredFlow>, Error> {
        let rows = sqlx::query(select_flow!("WHERE f.change_seq > $1 ORDER BY f.id"))
            .bind(counter)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_flow).collect()
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound {
        what: "flow",
        name: id.to_owned(),
    }
}

fn decode_flow(row: &AnyRow) -> Result<StoredFlow, Error> {
    let id: String = row.try_get("id")?;
    let seq: Option<i64> = row.try_get("seq")?;
    let current = match seq {
        None => None,
        Some(seq) => Some(FlowVersion {
            flow_id: id.clone(),
            seq,
            hash: row.try_get("hash")?,
            number: row.try_get("number")?,
            yaml: row.try_get("yaml")?,
            message: row.try_get("message")?,
            published_at_ms: row.try_get("published_at_ms")?,
        }),
    };
    let enabled: i64 = row.try_get("enabled")?;
    Ok(StoredFlow {
        deleted_at_ms: row.try_get("deleted_at_ms")?,
        name: row.try_get("name")?,
        enabled: enabled != 0,
        draft_yaml: row.try_get("draft_yaml")?,
        draft_revision: row.try_get("draft_revision")?,
        draft_updated_at_ms: row.try_get("draft_updated_at_ms")?,
        created_at_ms: row.try_get("created_at_ms")?,
        change_seq: row.try_get("change_seq")?,
        current,
        id,
    })
}

fn decode_version(row: &AnyRow) -> Result<FlowVersion, Error> {
    Ok(FlowVersion {
        flow_id: row.try_get("flow_id")?,
        seq: row.try_get("seq")?,
        hash: row.try_get("hash")?,
        number: row.try_get("number")?,
        yaml: row.try_get("yaml")?,
        message: row.try_get("message")?,
        published_at_ms: row.try_get("published_at_ms")?,
    })
}
