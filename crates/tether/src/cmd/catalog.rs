//! `tether catalog`: every operation with its scopes, and its schemas with `--json`.

use crate::out::outln;
use clap::Args;

/// Arguments of `tether catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Print every operation's full metadata, input and output schemas included, as JSON.
    #[arg(long)]
    json: bool,
    /// Only operations whose id starts with this (e.g. `ghl.contact`).
    prefix: Option<String>,
}

/// Prints the catalog.
pub async fn run(args: CatalogArgs) -> anyhow::Result<()> {
    let mut operations = tether_connectors::catalog();
    if let Some(prefix) = &args.prefix {
        operations.retain(|operation| operation.id.starts_with(prefix.as_str()));
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&operations)?)?;
        return Ok(());
    }
    for operation in &operations {
        outln!(
            "{:<34} {:<7} {:<40} {}",
            operation.id,
            format!("{:?}", operation.kind).to_lowercase(),
            operation.title,
            operation.scopes.join(" ")
        )?;
    }
    outln!(
        "\n{} operations. `tether catalog --json` prints their input and output schemas.",
        operations.len()
    )?;
    Ok(())
}
