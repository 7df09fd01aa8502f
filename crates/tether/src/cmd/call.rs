//! `tether call OP`: run one catalog operation with a JSON input and print its JSON output.

use crate::out::outln;
use anyhow::Context;
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
    /// The input as JSON, `@file.json` to read it from a file, or `@-` to read standard input.
    #[arg(long, short, default_value = "{}")]
    input: String,
    #[command(flatten)]
    data: DataArgs,
}

/// Runs the operation.
pub async fn run(args: CallArgs) -> anyhow::Result<()> {
    let (text, place) = super::read_at(&args.input, "--input")?;
    let input: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("the input in {place} is not JSON"))?;
    let store = args.data.open_existing().await?;
    // The names first, each with a "did you mean" when misspelt, before anything is called.
    let service = tether_service::Service::for_store(store.clone());
    let operation = service.find_operation(&args.operation)?;
    let connection = service
        .find_connection(&args.connection, Some(&operation.app))
        .await?;
    // Each app's operations are invoked through its own client: GHL's typed one, or the generic
    // client of a manifest-described app.
    let registry = Registry::new(store);
    let output = match operation.app.as_str() {
        "ghl" => {
            let client = registry.ghl(&connection.name).await?;
            tether_connectors::ghl::catalog::invoke(&client, &args.operation, input).await?
        }
        "flickr" => {
            let client = registry.flickr(&connection.name).await?;
            tether_connectors::flickr::catalog::invoke(&client, &args.operation, input).await?
        }
        _ => {
            let app = registry.rest_app(&connection.name).await?;
            app.invoke(&args.operation, input).await?
        }
    };
    outln!("{}", serde_json::to_string_pretty(&output)?)?;
    Ok(())
}
