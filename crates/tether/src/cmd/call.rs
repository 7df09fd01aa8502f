//! `tether call OP`: run one catalog operation with a JSON input and print its JSON output.

use crate::out::outln;
use anyhow::{Context, bail};
use clap::Args;
use tether_connectors::registry::Registry;

use super::data::DataArgs;

/// Arguments of `tether call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The operation id, e.g. `ghl.contact.get` (`tether catalog` lists them).
    operation: String,
    /// The connection to call it with.
    #[arg(long, short)]
    connection: String,
    /// The input as JSON, or `@file.json` to read it from a file.
    #[arg(long, short, default_value = "{}")]
    input: String,
    #[command(flatten)]
    data: DataArgs,
}

/// Runs the operation.
pub async fn run(args: CallArgs) -> anyhow::Result<()> {
    let text = match args.input.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
        }
        None => args.input.clone(),
    };
    let input: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        let source = args
            .input
            .strip_prefix('@')
            .map_or("--input".to_owned(), str::to_owned);
        format!("the input in {source} is not JSON")
    })?;
    // Each app's operations are invoked through its own client: GHL's typed one, or the generic
    // client of a manifest-described app.
    let store = args.data.open_existing().await?;
    let registry = Registry::new(store);
    let output = if args.operation.starts_with("ghl.") {
        let client = registry.ghl(&args.connection).await?;
        tether_connectors::ghl::catalog::invoke(&client, &args.operation, input).await?
    } else if args.operation.starts_with("flickr.") {
        let client = registry.flickr(&args.connection).await?;
        tether_connectors::flickr::catalog::invoke(&client, &args.operation, input).await?
    } else if args.operation.starts_with("details_flowers.") {
        let app = registry.rest_app(&args.connection).await?;
        app.invoke(&args.operation, input).await?
    } else {
        bail!(
            "unknown operation {:?}: `tether catalog` lists the operations",
            args.operation
        );
    };
    outln!("{}", serde_json::to_string_pretty(&output)?)?;
    Ok(())
}
