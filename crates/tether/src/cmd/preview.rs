//! `tether preview EXPR --sample FILE|@-`: evaluates an expression with the engine's expression
//! code against a sample record (`trigger`) and prints its typed value as JSON, or every problem
//! with its place in the expression. Needs no data folder.

use std::io::Read as _;

use anyhow::Context as _;
use clap::Args;
use serde_json::Value;
use tether_service::samples::PreviewRequest;

use crate::out::outln;

/// Arguments of `tether preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The expression: `{{ … }}` (a typed value), a template (a string) or a literal.
    expression: String,
    /// The trigger record (JSON): a file, or `@-` for standard input (default `{}`).
    #[arg(long)]
    sample: Option<String>,
}

/// Prints the expression's value.
pub async fn run(args: PreviewArgs) -> anyhow::Result<()> {
    let request = PreviewRequest {
        expression: Some(args.expression),
        ..PreviewRequest::default()
    };
    let trigger = read_sample(args.sample.as_deref())?;
    let result = tether_service::samples::preview(&request, trigger).map_err(service_error)?;
    outln!("{}", serde_json::to_string_pretty(&result.value)?)?;
    Ok(())
}

/// The sample record named by `--sample`: a JSON file, `@-` for standard input, `{}` when absent.
pub fn read_sample(sample: Option<&str>) -> anyhow::Result<Value> {
    let (text, origin) = match sample {
        None => return Ok(Value::Object(serde_json::Map::new())),
        Some("@-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the sample from standard input")?;
            (text, "standard input".to_owned())
        }
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
            path.to_owned(),
        ),
    };
    serde_json::from_str(&text).with_context(|| format!("the sample in {origin} is not JSON"))
}

/// A service error as one message: what is wrong, then each problem with its place.
pub fn service_error(error: tether_service::Error) -> anyhow::Error {
    let mut message = error.message.clone();
    for diagnostic in &error.diagnostics {
        let place = match (diagnostic.line, diagnostic.column) {
            (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
            _ => String::new(),
        };
        message.push_str(&format!(
            "\n  {}{place}: {}",
            diagnostic.path, diagnostic.message
        ));
    }
    anyhow::anyhow!(message)
}
