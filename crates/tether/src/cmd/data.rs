//! Where Tether keeps its state: a data folder with the SQLite file and the secret key, or a
//! PostgreSQL URL.

use std::path::PathBuf;

use anyhow::{Context, bail};
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
    /// The file of the key that seals credentials (default: `secret.key` in the data folder);
    /// `TETHER_SECRET_KEY` holding the key itself takes its place.
    #[arg(
        long,
        global = true,
        env = "TETHER_SECRET_KEY_FILE",
        value_name = "FILE"
    )]
    pub secret_key_file: Option<PathBuf>,
}

impl DataArgs {
    /// Opens the store for a command that creates state (`serve`, `connect`): the data folder,
    /// the database and the secret key are created when missing. A new key is written only when
    /// the store holds no sealed credentials, since a new key opens none of them.
    pub async fn open_or_create(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!("cannot create the data folder {}", self.data_dir.display())
        })?;
        let key_file = self.key_file();
        let vault = match Vault::load_existing(&key_file)? {
            Some(vault) => vault,
            None => {
                if self.database.is_some() || self.sqlite_file().exists() {
                    let store = self.connect(Vault::missing(&key_file), true).await?;
                    let names = store.connection_names().await?;
                    store.close().await;
                    if !names.is_empty() {
                        bail!(
                            "the secret key {} is missing (and {} is not set), but the store holds \
                             connections sealed with it: {}; Tether will not write a new key that \
                             opens none of them: restore the original key, or delete those \
                             connections (`tether connections delete NAME`) and connect them again",
                            key_file.display(),
                            tether_store::vault::KEY_ENV,
                            names
                                .iter()
                                .map(|name| format!("`{name}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                }
                Vault::create(&key_file)?
            }
        };
        self.connect(vault, true).await
    }

    /// Opens the store for a command that only works on existing state (`runs`, `dlq`,
    /// `connections`, `call`, `run`): it never creates a folder, a database or a key, so a
    /// mistyped `--data-dir` is reported instead of becoming a new, empty store.
    pub async fn open_existing(&self) -> anyhow::Result<Store> {
        if self.database.is_none() && !self.sqlite_file().is_file() {
            bail!(
                "no Tether data in {} (looked for {}); run `tether connect`, `tether serve` or \
                 `tether demo` first, or pass --data-dir",
                self.data_dir.display(),
                self.sqlite_file().display()
            );
        }
        let key_file = self.key_file();
        // Without a key the store still answers runs and dead letters; opening a connection then
        // fails with a message naming it and the missing key.
        let vault = Vault::load_existing(&key_file)?.unwrap_or_else(|| Vault::missing(&key_file));
        self.connect(vault, false).await
    }

    fn key_file(&self) -> PathBuf {
        self.secret_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secret.key"))
    }

    fn sqlite_file(&self) -> PathBuf {
        self.data_dir.join("tether.sqlite")
    }

    async fn connect(&self, vault: Vault, create: bool) -> anyhow::Result<Store> {
        match &self.database {
            Some(url) => Store::connect(url, vault)
                .await
                .context("cannot open the database"),
            None => {
                let path = self.sqlite_file();
                let opened = if create {
                    Store::open_sqlite(&path, vault).await
                } else {
                    // `mode=rw`: SQLite must not create the file if it vanished meanwhile.
                    Store::connect(&format!("sqlite://{}?mode=rw", path.display()), vault).await
                };
                opened.with_context(|| format!("cannot open {}", path.display()))
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
