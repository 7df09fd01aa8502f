//! Tether's durable state behind one [`Store`]: SQLite in one file by default, PostgreSQL for
//! scale-out. Both go through `sqlx::Any` with portable SQL (`$n` placeholders, which SQLite also
//! accepts), so there is one implementation and the conformance suite runs it on both backends;
//! where a backend needs its own statement the code says so next to it.
//!
//! What it holds: accounts (users, sessions, API tokens: [`accounts`]), connections with sealed
//! credentials ([`connections`]), cross-process leases ([`leases`]), polling cursors
//! ([`cursors`]), flows with their drafts and published versions ([`flows`]) and what the flows list shows of their runs ([`flow_stats`]), and the durable-run tables: trigger events
//! ([`events`]), runs and their step journal ([`runs`]), the id map ([`links`]) and the
//! dead-letter queue ([`dlq`]), and the sweep of old finished runs ([`retention`]); and, apart
//! from run history, samples for building flows ([`samples`]).
//!
//! **Invariant:** only this crate writes SQL. Credentials are sealed by the [`Vault`] before they
//! reach a table and opened only when read back.

pub mod accounts;
pub mod budgets;
pub mod connections;
pub mod cursors;
pub mod dlq;
pub mod events;
pub mod flow_stats;
pub mod flows;
mod group;
mod intake;
pub mod leases;
pub mod links;
pub mod oauth_states;
pub mod retention;
pub mod run_search;
pub mod runs;
pub mod samples;
pub mod vault;
mod writer;

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

pub use accounts::{ApiToken, NewApiToken, NewUser, OneTimePurpose, Role, User};
pub use connections::{AuthKind, Connection, ConnectionStatus, NewConnection};
pub use dlq::{DeadLetter, DeadLetterFilter, DeadLetterId, DeadLetterState, ReplayPlan, Replayed};
pub use events::{Event, EventId, EventInsert};
pub use flow_stats::{FlowRunStats, LastRun};
pub use flows::{DraftSave, FlowVersion, Published, StoredFlow};
pub use intake::{NewEvent, Recorded};
pub use links::{Link, LinkExpect};
pub use oauth_states::OAuthState;
pub use run_search::{RunFacts, RunFilter, RunLink, Seed};
pub use runs::{
    NewStep, Run, RunCounts, RunId, RunStatus, RunSummary, StepCommit, StepDetail, StepResult,
    StepStatus, StepsCommitted,
};
pub use samples::{Capture, CaptureId, Sample, SampleId, SampleSource};
pub use vault::Vault;

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the database")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The secret key is unusable.
    #[error("secret key in {place} is unusable: {reason}")]
    Key {
        /// Where the key came from (variable name or file path).
        place: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A secret could not be sealed.
    #[error("cannot seal a secret")]
    Seal,
    /// A sealed secret does not open with this key (wrong or missing key, or tampered row). The
    /// message names the connection and the remedy, because only a person can fix it.
    #[error("{}", unseal_message(connection, app.as_deref(), key, *key_missing))]
    Unseal {
        /// The connection's name (its row id when the name is not known).
        connection: String,
        /// The connection's app, when known.
        app: Option<String>,
        /// Where the key came from.
        key: String,
        /// No key exists at all (the file is gone and the variable unset).
        key_missing: bool,
    },
    /// No such record.
    #[error("no {what} named {name:?}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// The name or id given.
        name: String,
    },
    /// A record with that name exists.
    #[error("a {what} named {name:?} exists already")]
    Conflict {
        /// What kind of record.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// The run's lease expired and another worker holds it now; this worker must drop the run.
    #[error("run {run_id} is no longer leased by {worker}")]
    LeaseLost {
        /// The run.
        run_id: i64,
        /// The worker that lost it.
        worker: String,
    },
    /// A stored value is not what this version of Tether wrote.
    #[error("stored {field} is invalid: {reason}")]
    Corrupt {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The task committing a batch (intake, or the run path's writes) stopped before answering
    /// (the runtime is shutting down).
    #[error("the store stopped before the write was committed")]
    Stopped,
}

impl Error {
    /// What a caller should do about it.
    pub fn kind(&self) -> tether_core::ErrorKind {
        use tether_core::ErrorKind;
        match self {
            Error::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) | Error::Stopped => {
                ErrorKind::Transient
            }
            Error::Database(_) | Error::Migrate(_) | Error::Seal | Error::Corrupt { .. } => {
                ErrorKind::Bug
            }
            Error::Key { .. } | Error::Unseal { .. } => ErrorKind::Auth,
            Error::NotFound { .. } | Error::Conflict { .. } | Error::LeaseLost { .. } => {
                ErrorKind::Permanent
            }
        }
    }
}

/// The words of [`Error::Unseal`]: which connection, which key, and what a person can do.
fn unseal_message(connection: &str, app: Option<&str>, key: &str, key_missing: bool) -> String {
    let remedy = if key_missing {
        // `tether connect` refuses to write a new key while sealed connections exist, so the
        // way forward without the old key is to delete what it sealed.
        format!(
            "restore the original key, or delete the connection (`tether connections delete \
             {connection}`) and connect it again"
        )
    } else {
        format!(
            "restore the original key, or reconnect it with `tether connect {} --name \
             {connection} …`",
            app.unwrap_or("APP").replace('_', "-")
        )
    };
    format!("connection `{connection}` cannot be decrypted with the secret key in {key}: {remedy}")
}

/// SQLite's `PRAGMA synchronous` for a pool's connections.
#[derive(Debug, Clone, Copy)]
enum Synchronous {
    /// In WAL mode: a commit is durable against a crash of the process, and synced to disk at
    /// the next checkpoint.
    Normal,
    /// A commit is synced to disk before it returns.
    Full,
}

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file (the embedded default).
    Sqlite,
    /// PostgreSQL (several workers share it).
    Postgres,
}

/// The store: a pool, the backend it talks to, and the vault that seals credentials.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// On SQLite, the connection whose commits are synced to disk (`synchronous = FULL`): what
    /// must survive a power loss once it is acknowledged outside, an event's intake, commits
    /// here. The pool's own connections run `synchronous = NORMAL` (durable against a crash of
    /// the process, not of the machine). On PostgreSQL every commit is synced: the pool itself.
    synced: AnyPool,
    /// Intake's group commit on `synced` (see [`intake`]).
    intake: intake::Intake,
    /// The run path's group-committed writes (see [`writer`]).
    writer: writer::Writer,
    /// Actions' reads of their records' links, batched (see [`links::LinkReads`]).
    link_reads: links::LinkReads,
    /// Moves on every change this process makes to a connection (see
    /// [`Store::connections_generation`]).
    connections_changed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    backend: Backend,
    vault: Vault,
}

impl Store {
    /// Opens (creating when needed) the SQLite file at `path` and migrates it.
    pub async fn open_sqlite(path: &Path, vault: Vault) -> Result<Self, Error> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url, vault).await
    }

    /// Connects to `url` (`sqlite://…` or `postgres://…`) and migrates the schema.
    pub async fn connect(url: &str, vault: Vault) -> Result<Self, Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let mut options = AnyConnectOptions::from_str(url)?;
        options = options.log_statements(tracing::log::LevelFilter::Trace);
        let pool = Self::pool_options(backend, Synchronous::Normal)
            .connect_with(options.clone())
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        // On SQLite, intake (synced to disk) and the run path's writer each commit on a
        // connection of their own, and take turns for the file's one writer (see group.rs). A
        // connection's page cache is emptied whenever another connection changed the file, so a
        // writer taking whichever pooled connection was free read again most pages it touched.
        // On PostgreSQL every commit is synced and row locks let writers go on together.
        let (synced, writes, turn) = match backend {
            Backend::Sqlite => {
                let connection = |synchronous| {
                    Self::pool_options(backend, synchronous)
                        .max_connections(1)
                        .connect_with(options.clone())
                };
                (
                    connection(Synchronous::Full).await?,
                    connection(Synchronous::Normal).await?,
                    group::WriteTurn::exclusive(),
                )
            }
            Backend::Postgres => (pool.clone(), pool.clone(), group::WriteTurn::default()),
        };
        Ok(Store {
            writer: writer::Writer::new(writes, turn.clone()),
            link_reads: links::LinkReads::new(pool.clone(), backend == Backend::Sqlite),
            pool,
            intake: intake::Intake::new(synced.clone(), turn),
            connections_changed: std::sync::Arc::default(),
            synced,
            backend,
            vault,
        })
    }

    /// The pool settings of `backend`; on SQLite with `synchronous` as each connection's
    /// `PRAGMA synchronous`.
    fn pool_options(backend: Backend, synchronous: Synchronous) -> AnyPoolOptions {
        let synchronous = match synchronous {
            Synchronous::Normal => "PRAGMA synchronous = NORMAL",
            Synchronous::Full => "PRAGMA synchronous = FULL",
        };
        match backend {
            // SQLite has one writer; a small pool avoids "database is locked" storms, and WAL lets
            // readers go on while it writes. Each connection caches at most 2 MiB of pages
            // (about SQLite's default, made explicit), so the store holds at most 12 MiB of the
            // file in memory (4 connections, the synced one and the run path's writer) however
            // large the file grows.
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    // A connection to a local file has no peer to lose: testing it before each
                    // use would cost a round trip to its thread on every acquire.
                    .test_before_acquire(false)
                    .after_connect(move |conn, _meta| {
                        Box::pin(async move {
                            sqlx::query("PRAGMA journal_mode = WAL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA busy_timeout = 5000")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA cache_size = -2048")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query(synchronous).execute(&mut *conn).await?;
                            sqlx::query("PRAGMA foreign_keys = ON")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(10),
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections to return.
    pub async fn close(&self) {
        self.synced.close().await;
        self.pool.close().await;
    }
}

/// Declares an integer row id newtype (the tables' `BIGSERIAL` / `INTEGER PRIMARY KEY`).
macro_rules! row_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}
pub(crate) use row_id;

/// Reads a JSON column stored as text.
pub(crate) fn json_column(
    row: &sqlx::any::AnyRow,
    column: &'static str,
) -> Result<serde_json::Value, Error> {
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|error| Error::Corrupt {
        field: column,
        reason: error.to_string(),
    })
}

/// The VALUES of a multi-row statement on `connection`: `rows` groups of `columns` placeholders,
/// numbered from `$first` on PostgreSQL (with 2, 2 and 1: `($1, $2), ($3, $4)`), anonymous on
/// SQLite (`(?, ?), (?, ?)`), where every other placeholder of the statement must then be
/// anonymous too ([`param`]) and values are bound in the order of the text.
///
/// Why SQLite's are anonymous: sqlx binds a named placeholder by asking SQLite its name, which
/// SQLite finds by walking the statement's list of names, and parsing a named placeholder walks
/// that list as well; with hundreds of `$n` in one statement both grow with the square of the
/// count (they were 6 % of a sync's CPU). An anonymous one is bound by its position.
pub(crate) fn placeholders(
    connection: &sqlx::AnyConnection,
    rows: usize,
    columns: usize,
    first: usize,
) -> String {
    let anonymous = is_sqlite(connection);
    let mut values = String::with_capacity(rows * (columns * 6 + 4));
    for row in 0..rows {
        if row > 0 {
            values.push_str(", ");
        }
        values.push('(');
        for column in 0..columns {
            if column > 0 {
                values.push_str(", ");
            }
            values.push_str(&param_as(anonymous, first + row * columns + column));
        }
        values.push(')');
    }
    values
}

/// Placeholder `$n` of a statement whose VALUES come from [`placeholders`]: `?` on SQLite.
pub(crate) fn param(connection: &sqlx::AnyConnection, n: usize) -> String {
    param_as(is_sqlite(connection), n)
}

/// Placeholder `$n`, or `?` when `anonymous` (SQLite's; see [`placeholders`]).
pub(crate) fn param_as(anonymous: bool, n: usize) -> String {
    if anonymous {
        "?".to_owned()
    } else {
        format!("${n}")
    }
}

fn is_sqlite(connection: &sqlx::AnyConnection) -> bool {
    connection.backend_name().eq_ignore_ascii_case("sqlite")
}

/// Milliseconds since the Unix epoch, the portable time column type of every table.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    /// On SQLite, intake commits on a connection synced to disk at each commit (`FULL` = 2), and
    /// everything else on connections synced at checkpoints (`NORMAL` = 1).
    #[tokio::test]
    async fn intake_has_a_synced_connection_of_its_own_on_sqlite() {
        let path = std::env::temp_dir().join(format!(
            "tether-store-synced-{}-{}.sqlite",
            std::process::id(),
            fastrand::u64(..)
        ));
        let store = Store::open_sqlite(&path, Vault::from_key(&[3; 32]))
            .await
            .unwrap();
        let synchronous = |pool: &AnyPool| {
            let pool = pool.clone();
            async move {
                sqlx::query("PRAGMA synchronous")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .try_get::<i64, _>(0)
                    .unwrap()
            }
        };
        assert_eq!(synchronous(&store.synced).await, 2);
        assert_eq!(synchronous(&store.pool).await, 1);
        let (inserted, _) = store
            .record_event_with_runs("test", "k1", "contact", &serde_json::json!({}), 1, &[])
            .await
            .unwrap();
        assert!(matches!(inserted, EventInsert::New(_)));
        assert_eq!(synchronous(&store.synced).await, 2);
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
