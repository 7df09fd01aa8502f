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
        let all: Vec<String> = operations
            .iter()
            .map(|operation| operation.id.clone())
            .collect();
        operations.retain(|operation| operation.id.starts_with(prefix.as_str()));
        if operations.is_empty() {
            // A misspelt prefix: suggest the nearest one of as many segments (`ghl.contct`).
            let segments = prefix.split('.').count();
            let mut prefixes: Vec<String> = all
                .iter()
                .map(|id| id.split('.').take(segments).collect::<Vec<_>>().join("."))
                .collect();
            prefixes.sort();
            prefixes.dedup();
            let hint = tether_engine::flow::closest(prefix, prefixes.iter().map(String::as_str))
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            anyhow::bail!("no operation starts with `{prefix}`{hint}");
        }
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
