//! Where Tether keeps its state: a data folder with the SQLite file and the secret key, or a
//! PostgreSQL URL.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tether_store::{Store, Vault};

/// Options naming the state a command works on.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Folder for the SQLite database and the secret key file.
    #[arg(
        long,
        global = true,
        env = "TETHER_DATA_DIR",
        default_value = "tether-data"
    )]
    pub data_dir: PathBuf,
    /// A database URL (`postgres://…` for scale-out); default: the SQLite file in the data folder.
    #[arg(long, global = true, env = "TETHER_DATABASE_URL")]
    pub database: Option<String>,
}

impl DataArgs {
    /// Opens (creating and migrating when needed) the store.
    pub async fn open(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!("cannot create the data folder {}", self.data_dir.display())
        })?;
        let vault = Vault::load(&self.data_dir.join("secret.key"))?;
        match &self.database {
            Some(url) => Store::connect(url, vault)
                .await
                .context("cannot open the database"),
            None => {
                let path = self.data_dir.join("tether.sqlite");
                Store::open_sqlite(&path, vault)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))
            }
        }
    }
}

/// Loads a folder of flow files against every shipped operation; any problem stops the load,
/// each listed with its file, line, column and field.
pub fn load_flows(dir: &std::path::Path) -> anyhow::Result<tether_engine::executor::FlowSet> {
    tether_engine::executor::FlowSet::load_dir(dir, &tether_connectors::catalog()).map_err(
        |errors| {
            let lines: Vec<String> = errors.problems.iter().map(ToString::to_string).collect();
            anyhow::anyhow!(
                "the flows in {} do not load:\n{}",
                dir.display(),
                lines.join("\n")
            )
        },
    )
}
