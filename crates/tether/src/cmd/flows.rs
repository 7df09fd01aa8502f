//! `tether flows validate FILE|DIR…`: check flow files and report every problem with its place,
//! the stored connections included when a data folder (or database) is there to read them from.
//! `tether flows test FILE --step ID`: render one step against a sample (see
//! [`tether_service::samples`]); `--execute` runs a lookup, and an action with `--confirm-write`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tether_engine::flow::{KnownConnection, Problem};
use tether_service::samples::{TestStepRequest, render_step};

use super::data::DataArgs;
use crate::out::outln;

/// Arguments of `tether flows`.
#[derive(Debug, Args)]
pub struct FlowsArgs {
    #[command(subcommand)]
    command: FlowsCommand,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum FlowsCommand {
    /// Check flow files: YAML, fields, step references, expressions (filters, functions, trigger
    /// fields), operations and their inputs, and, when the data folder exists, connections.
    Validate {
        /// Flow files (YAML), or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Render one step of a flow file against a sample and print what it would do (JSON):
    /// a filter's verdict, a map's record, a lookup's or action's input.
    Test {
        /// The flow file (YAML).
        file: PathBuf,
        /// The step's id.
        #[arg(long)]
        step: String,
        /// The trigger record (JSON): a file, or `@-` for standard input (default `{}`).
        #[arg(long)]
        sample: Option<String>,
        /// Run the step's operation on the stored connections: a lookup runs; an action also
        /// needs --confirm-write.
        #[arg(long)]
        execute: bool,
        /// Let an executed action write to its app.
        #[arg(long, requires = "execute")]
        confirm_write: bool,
    },
}

/// Runs `tether flows …`.
pub async fn run(args: FlowsArgs) -> anyhow::Result<()> {
    match args.command {
        FlowsCommand::Test {
            file,
            step,
            sample,
            execute,
            confirm_write,
        } => {
            let yaml = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let request = TestStepRequest {
                yaml: Some(yaml.clone()),
                step_id: step,
                sample: Some(super::preview::read_sample(sample.as_deref())?),
                execute,
                confirm_write,
                ..TestStepRequest::default()
            };
            let test = if execute {
                // Only a run needs the stored connections.
                let service = tether_service::Service::for_store(args.data.open_existing().await?);
                service.test_step(&request).await
            } else {
                let catalog = tether_connectors::catalog();
                let flow = tether_engine::flow::parse_flow(&yaml, &file, Some(&catalog)).map_err(
                    |errors| {
                        let problems: Vec<String> =
                            errors.problems.iter().map(ToString::to_string).collect();
                        anyhow::anyhow!(
                            "{} problem(s) in the flow:\n{}",
                            problems.len(),
                            problems.join("\n")
                        )
                    },
                )?;
                let trigger = request.sample.clone().unwrap_or_default();
                render_step(&flow, &request, trigger).map(|(test, _)| test)
            }
            .map_err(super::preview::service_error)?;
            outln!("{}", serde_json::to_string_pretty(&test)?)?;
            if let Some(warning) = &test.warning {
                eprintln!("warning: {warning}");
            }
            if let Some(error) = &test.error {
                bail!("{error}");
            }
            Ok(())
        }
        FlowsCommand::Validate { paths } => {
            let catalog = tether_connectors::catalog();
            let connections = stored_connections(&args.data).await?;
            if connections.is_none() {
                // On stdout with the report, so that stderr keeps to the one line of the verdict.
                outln!(
                    "note: connections were not checked (no data folder at {}; pass --data-dir)",
                    args.data.data_dir.display()
                )?;
            }
            let mut n_problems = 0;
            let mut n_files = 0;
            for path in &paths {
                let (files, folder_problems) = flow_files(path);
                n_files += files.len();
                for problem in &folder_problems {
                    outln!("{problem}")?;
                }
                n_problems += folder_problems.len();
                for file in &files {
                    let problems = tether_engine::flow::validate_flow_file_with(
                        file,
                        &catalog,
                        connections.as_deref(),
                    );
                    if problems.is_empty() {
                        outln!("{}: ok", file.display())?;
                    }
                    for problem in &problems {
                        outln!("{problem}")?;
                    }
                    n_problems += problems.len();
                }
            }
            if n_problems > 0 {
                bail!("{n_problems} problem(s) in {n_files} file(s)");
            }
            Ok(())
        }
    }
}

/// The stored connections, when there is a store to read: a read command never creates a data
/// folder, so without one (and without `--database`) nothing is opened.
async fn stored_connections(data: &DataArgs) -> anyhow::Result<Option<Vec<KnownConnection>>> {
    let has_store = data.database.is_some() || data.data_dir.join("tether.sqlite").is_file();
    if !has_store {
        return Ok(None);
    }
    let store = data.open_existing().await?;
    let connections = store
        .connections()
        .await
        .context("cannot list the stored connections")?
        .into_iter()
        .map(|connection| KnownConnection {
            name: connection.name,
            app: connection.app,
        })
        .collect();
    Ok(Some(connections))
}

/// A file as itself; a folder as its flow files (`*.yaml`, `*.yml`), sorted. A folder that
/// cannot be read or holds no flow file is a problem of its own.
fn flow_files(path: &Path) -> (Vec<PathBuf>, Vec<Problem>) {
    if !path.is_dir() {
        return (vec![path.to_path_buf()], Vec::new());
    }
    let whole_folder = |message: String| Problem {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        path: String::new(),
        message,
    };
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(error) => {
            return (
                Vec::new(),
                vec![whole_folder(format!("cannot read the folder: {error}"))],
            );
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| {
            file.is_file()
                && file
                    .extension()
                    .is_some_and(|extension| extension == "yaml" || extension == "yml")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return (
            Vec::new(),
            vec![whole_folder(
                "no flow files (*.yaml, *.yml) in this folder".into(),
            )],
        );
    }
    (files, Vec::new())
}
