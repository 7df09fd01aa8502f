//! `tether runs`: recent runs with their steps and outcomes; `tether runs show ID`: one run.

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tether_store::{Run, RunId, StepResult};

use super::data::DataArgs;
use crate::out::outln;

/// Arguments of `tether runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    command: Option<RunsCommand>,
    /// How many runs to show, newest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print JSON (one array of runs, or one run for `show`) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// One run with every step it journaled: status, attempts, last error, each step's output.
    Show {
        /// The run's id (the first column of `tether runs`).
        id: i64,
    },
}

/// Prints recent runs, or one.
pub async fn run(args: RunsArgs) -> anyhow::Result<()> {
    let store = args.data.open_existing().await?;
    if let Some(RunsCommand::Show { id }) = args.command {
        let run = store
            .run(RunId(id))
            .await
            .with_context(|| format!("no run {id}"))?;
        let steps = store.journal(run.id).await?;
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&run_json(&run, &steps))?)?;
            return Ok(());
        }
        super::run::print_run(&run, &steps)?;
        if let Some(error) = &run.last_error {
            outln!("last error: {error}")?;
        }
        return Ok(());
    }
    let runs = store.runs_recent(args.limit).await?;
    if args.json {
        let runs: Vec<Value> = runs
            .iter()
            .map(|summary| run_json(&summary.run, &summary.steps))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&runs)?)?;
        return Ok(());
    }
    if runs.is_empty() {
        outln!("No runs yet.")?;
        return Ok(());
    }
    for summary in runs {
        let run = &summary.run;
        outln!(
            "run {:<6} {:<32} v{:<16} {:<10} attempts {}{}",
            run.id,
            run.flow_id,
            run.flow_version,
            run.status.as_str(),
            run.attempts,
            run.last_error
                .as_ref()
                .map(|error| format!("  — {error}"))
                .unwrap_or_default()
        )?;
        for step in &summary.steps {
            outln!(
                "    {:<24} attempt {} {}",
                step.step_id,
                step.attempt,
                step.status.as_str()
            )?;
        }
    }
    Ok(())
}

/// A run and its steps as machine output; times in RFC 3339.
fn run_json(run: &Run, steps: &[StepResult]) -> Value {
    json!({
        "id": run.id,
        "flow_id": run.flow_id,
        "flow_version": run.flow_version,
        "event_id": run.event_id,
        "replay_of": run.replay_of,
        "status": run.status.as_str(),
        "attempts": run.attempts,
        "next_attempt_at": time(run.next_attempt_at_ms),
        "last_error": run.last_error,
        "created_at": time(run.created_at_ms),
        "updated_at": time(run.updated_at_ms),
        "steps": steps.iter().map(|step| json!({
            "step_id": step.step_id,
            "attempt": step.attempt,
            "status": step.status.as_str(),
            "output": step.output,
            "recorded_at": time(step.recorded_at_ms),
        })).collect::<Vec<_>>(),
    })
}

/// Milliseconds since the epoch as RFC 3339 (UTC), as the REST API writes times.
pub fn time(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms).map_or(Value::Null, |at| {
        Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    })
}
