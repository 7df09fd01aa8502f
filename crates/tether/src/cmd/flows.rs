//! `tether flows validate FILE…`: check flow files and report every problem with its place.

use crate::out::outln;
use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};

/// Arguments of `tether flows`.
#[derive(Debug, Args)]
pub struct FlowsArgs {
    #[command(subcommand)]
    command: FlowsCommand,
}

#[derive(Debug, Subcommand)]
enum FlowsCommand {
    /// Check flow files: YAML, fields, step references, expressions, operations and their inputs.
    Validate {
        /// Flow files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs `tether flows …`.
pub async fn run(args: FlowsArgs) -> anyhow::Result<()> {
    match args.command {
        FlowsCommand::Validate { files } => {
            let catalog = tether_connectors::catalog();
            let mut n_problems = 0;
            for file in &files {
                let problems = tether_engine::flow::validate_flow_file(file, &catalog);
                if problems.is_empty() {
                    outln!("{}: ok", file.display())?;
                }
                for problem in &problems {
                    outln!("{problem}")?;
                }
                n_problems += problems.len();
            }
            if n_problems > 0 {
                bail!("{n_problems} problem(s) in {} file(s)", files.len());
            }
            Ok(())
        }
    }
}
