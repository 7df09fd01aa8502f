//! `tether connections`: the stored connections and their health; `test`, `rename` and
//! `delete` (refused while flows use it) go through the service layer; `set` changes a
//! connection's settings (its rate limit).

use crate::out::outln;
use anyhow::Context;
use clap::{Args, Subcommand};
use tether_connectors::registry::{ConnectionSettings, RateLimitSetting};

use super::data::DataArgs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tether_service::Service;
use tether_store::Store;

/// The service over `store`, knowing the flows in `flows` (a folder or a file) when given, so
/// that deleting or renaming a connection those flows use is refused.
fn service(store: Store, flows: Option<&Path>) -> anyhow::Result<Service> {
    let Some(path) = flows else {
        return Ok(Service::for_store(store));
    };
    let catalog = tether_connectors::catalog();
    let set = if path.is_dir() {
        tether_engine::executor::FlowSet::load_dir(path, &catalog)
            .map_err(|errors| anyhow::anyhow!("{errors}"))
            .with_context(|| format!("cannot read the flows in {}", path.display()))?
    } else {
        let flow = tether_engine::flow::load_flow(path)
            .map_err(|errors| anyhow::anyhow!("{errors}"))
            .with_context(|| format!("cannot read the flow {}", path.display()))?;
        let set = tether_engine::executor::FlowSet::new();
        set.insert(flow).map_err(anyhow::Error::msg)?;
        set
    };
    let ops: Arc<dyn tether_engine::invoke::Operations> =
        Arc::new(tether_connectors::registry::Registry::new(store.clone()));
    Ok(Service::new(
        store,
        ops,
        set,
        tether_service::Settings::default(),
    ))
}

/// Arguments of `tether connections`.
#[derive(Debug, Args)]
pub struct ConnectionsArgs {
    #[command(subcommand)]
    action: Option<ConnectionsAction>,
    /// Print the connections as JSON (never their credentials).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum ConnectionsAction {
    /// Lists the connections with their health (the same as `tether connections`).
    List {
        /// Print the connections as JSON (never their credentials).
        #[arg(long)]
        json: bool,
    },
    /// Tests a connection with one cheap read and records its health.
    Test {
        /// The connection's name or id.
        name: String,
    },
    /// Renames a connection; refused while a flow names it by its old name.
    Rename {
        /// The connection's current name or id.
        old: String,
        /// The new name.
        new: String,
        /// Also check the flows in this folder (or file).
        #[arg(long)]
        flows: Option<PathBuf>,
    },
    /// Changes a connection's settings; running workers pick them up on their next call.
    Set(SetArgs),
    /// Deletes a connection and its sealed credentials (works without the secret key, so
    /// connections sealed with a lost key can be removed and connected again). Refused while
    /// a flow uses it.
    Delete {
        /// The connection's name.
        name: String,
        /// Also refuse when a flow in this folder (or file) uses it.
        #[arg(long)]
        flows: Option<PathBuf>,
    },
}

/// Options of `tether connections set`.
#[derive(Debug, Args)]
struct SetArgs {
    /// The connection's name.
    name: String,
    /// The rate limit Tether keeps to on this connection: `N/WINDOW` (`6000/1m`, `100/10s`),
    /// `off`, or `default` for the app's published limit.
    #[arg(long)]
    rate_limit: Option<String>,
}

/// Prints one line per connection, or changes one.
pub async fn run(args: ConnectionsArgs) -> anyhow::Result<()> {
    let store = args.data.open_existing().await?;
    match &args.action {
        Some(ConnectionsAction::Delete { name, flows }) => {
            // A misspelt name is answered with the nearest stored one (without opening any
            // credentials, so this works while the key is lost).
            Service::for_store(store.clone())
                .check_connection_name(name)
                .await?;
            service(store, flows.as_deref())?
                .delete_connection(name)
                .await?;
            outln!("Connection {name:?} deleted.")?;
            return Ok(());
        }
        Some(ConnectionsAction::Rename { old, new, flows }) => {
            let renamed = service(store, flows.as_deref())?
                .rename_connection(old, new)
                .await?;
            outln!(
                "Connection {old:?} is now {:?} (id {}).",
                renamed.name,
                renamed.id
            )?;
            return Ok(());
        }
        Some(ConnectionsAction::Test { name }) => {
            let tested = Service::for_store(store).test_connection(name).await?;
            match &tested.last_error {
                None => outln!("Connection {:?}: {}.", tested.name, tested.health.as_str())?,
                Some(error) => {
                    outln!(
                        "Connection {:?}: {}: {error}",
                        tested.name,
                        tested.health.as_str()
                    )?;
                    anyhow::bail!("connection {:?} is {}", tested.name, tested.health.as_str());
                }
            }
            return Ok(());
        }
        _ => {}
    }
    let json = args.json || matches!(args.action, Some(ConnectionsAction::List { json: true }));
    if let Some(ConnectionsAction::Set(set)) = args.action {
        let service = tether_service::Service::for_store(store.clone());
        let connection = service.find_connection(&set.name, None).await?;
        let mut settings = ConnectionSettings::of(&connection)?;
        if let Some(text) = set.rate_limit {
            settings.rate_limit = if text.trim().eq_ignore_ascii_case("default") {
                None
            } else {
                Some(
                    text.parse::<RateLimitSetting>()
                        .map_err(anyhow::Error::msg)
                        .context("--rate-limit")?,
                )
            };
        }
        let value = serde_json::to_value(&settings).context("cannot encode the settings")?;
        store
            .set_connection_settings(&connection.id, &value)
            .await?;
        outln!("Connection {:?}: settings {value}.", connection.name)?;
        return Ok(());
    }
    let connections = store.connections().await?;
    if json {
        let listed: Vec<serde_json::Value> = connections
            .iter()
            .map(|connection| {
                serde_json::json!({
                    "id": connection.id,
                    "name": connection.name,
                    "app": connection.app,
                    "auth": connection.auth_kind.as_str(),
                    "account_id": connection.account_id,
                    "base_url": connection.base_url,
                    "scopes": connection.scopes,
                    "status": connection.status.as_str(),
                    "health": connection.status.as_str(),
                    "status_message": connection.status_message,
                    "last_error": connection.status_message,
                    "checked_at": connection.checked_at_ms.map(super::runs::time),
                    "expires_at": connection.expires_at_ms.map(super::runs::time),
                    "settings": connection.settings,
                    "created_at": super::runs::time(connection.created_at_ms),
                    "updated_at": super::runs::time(connection.updated_at_ms),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&listed)?)?;
        return Ok(());
    }
    if connections.is_empty() {
        outln!("No connections yet: `tether connect ghl --help`.")?;
        return Ok(());
    }
    outln!(
        "{:<16} {:<6} {:<14} {:<22} {:<14} TOKEN",
        "NAME",
        "APP",
        "AUTH",
        "ACCOUNT",
        "STATUS"
    )?;
    let now = tether_store::now_ms();
    for connection in connections {
        let token = match connection.expires_at_ms {
            None => "does not expire".to_owned(),
            Some(at) if at <= now => "expired (refreshes on next use)".to_owned(),
            Some(at) => format!("expires in {} min", (at - now) / 60_000),
        };
        outln!(
            "{:<16} {:<6} {:<14} {:<22} {:<14} {}{}{}",
            connection.name,
            connection.app,
            connection.auth_kind.as_str(),
            connection.account_id.as_deref().unwrap_or("-"),
            connection.status.as_str(),
            token,
            settings_note(&connection.settings),
            connection
                .status_message
                .map(|message| format!("\n    {message}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// `, rate limit 6000/60s` when a connection's settings override the app's.
fn settings_note(settings: &serde_json::Value) -> String {
    match settings.get("rate_limit") {
        None => String::new(),
        Some(serde_json::Value::String(word)) => format!(", rate limit {word}"),
        Some(limit) => format!(
            ", rate limit {}/{}s",
            limit.get("requests").unwrap_or(&serde_json::Value::Null),
            limit.get("window_secs").unwrap_or(&serde_json::Value::Null)
        ),
    }
}
