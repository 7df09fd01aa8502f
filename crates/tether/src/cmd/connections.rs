//! `tether connections`: the stored connections and their health.

use clap::Args;

use super::data::DataArgs;

/// Arguments of `tether connections`.
#[derive(Debug, Args)]
pub struct ConnectionsArgs {
    #[command(flatten)]
    data: DataArgs,
}

/// Prints one line per connection.
pub async fn run(args: ConnectionsArgs) -> anyhow::Result<()> {
    let store = args.data.open().await?;
    let connections = store.connections().await?;
    if connections.is_empty() {
        println!("No connections yet: `tether connect ghl --help`.");
        return Ok(());
    }
    println!(
        "{:<16} {:<6} {:<14} {:<22} {:<13} TOKEN",
        "NAME", "APP", "AUTH", "ACCOUNT", "STATUS"
    );
    let now = tether_store::now_ms();
    for connection in connections {
        let token = match connection.expires_at_ms {
            None => "does not expire".to_owned(),
            Some(at) if at <= now => "expired (refreshes on next use)".to_owned(),
            Some(at) => format!("expires in {} min", (at - now) / 60_000),
        };
        println!(
            "{:<16} {:<6} {:<14} {:<22} {:<13} {}{}",
            connection.name,
            connection.app,
            connection.auth_kind.as_str(),
            connection.account_id.as_deref().unwrap_or("-"),
            connection.status.as_str(),
            token,
            connection
                .status_message
                .map(|message| format!("\n    {message}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
