//! Fresh stores for each backend.

use std::path::PathBuf;

use sqlx::Connection;
use tether_store::{Store, Vault};

/// A store on a fresh database, and what to clean up afterwards.
pub struct TestStore {
    pub store: Store,
    pub sqlite_file: Option<PathBuf>,
    /// (admin URL, database) to drop afterwards.
    pub pg_database: Option<(String, String)>,
}

impl TestStore {
    /// Closes the store and removes its file or database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(file) = self.sqlite_file {
            let _ = std::fs::remove_file(&file);
            let _ = std::fs::remove_file(file.with_extension("sqlite-wal"));
            let _ = std::fs::remove_file(file.with_extension("sqlite-shm"));
        }
        if let Some((admin_url, database)) = self.pg_database {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap();
        }
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), fastrand::u64(..))
}

/// A store on a new SQLite file in the temp dir.
pub async fn sqlite() -> TestStore {
    let path = std::env::temp_dir().join(format!("{}.sqlite", unique("tether_store_test")));
    let store = Store::open_sqlite(&path, Vault::from_key(&[1; 32]))
        .await
        .unwrap();
    TestStore {
        store,
        sqlite_file: Some(path),
        pg_database: None,
    }
}

/// A store on a new PostgreSQL database.
pub async fn postgres() -> TestStore {
    let admin_url = std::env::var("TETHER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database = unique("tether_test");
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL at {admin_url} is needed for the store suite (set TETHER_TEST_POSTGRES): {error}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let store = Store::connect(&format!("{base}/{database}"), Vault::from_key(&[1; 32]))
        .await
        .unwrap();
    TestStore {
        store,
        sqlite_file: None,
        pg_database: Some((admin_url, database)),
    }
}

/// Runs a test body on both backends: `both!(name, |store| async move { ... })`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let test = $crate::support::sqlite().await;
                ($body)(test.store.clone()).await;
                test.cleanup().await;
            }

            #[tokio::test]
            async fn postgres() {
                let test = $crate::support::postgres().await;
                ($body)(test.store.clone()).await;
                test.cleanup().await;
            }
        }
    };
}
