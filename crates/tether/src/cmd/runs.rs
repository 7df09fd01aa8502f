//! `tether runs`: runs with their steps and outcomes, newest first, filtered by flow, status,
//! time and the record they touched; `tether runs show ID`: one run whole (its event, every
//! attempt of every step with input and output, the links it wrote, its dead letter).
//!
//! The search and the detail are the service's ([`tether_service::runs`]), as `/api/v1/runs`
//! answers them; versions are shown as their 16 hex digits.

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tether_engine::executor::version_hex;
use tether_service::Service;
use tether_service::runs::{RunDetail, RunQuery};
use tether_store::{Run, RunId, StepResult};

use super::data::DataArgs;
use crate::out::outln;

/// Arguments of `tether runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    command: Option<RunsCommand>,
    /// How many runs to show, newest first (at most 500).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Only runs of this flow.
    #[arg(long)]
    flow: Option<String>,
    /// Only runs in this status: queued, running, retry, done, dead.
    #[arg(long)]
    status: Option<String>,
    /// Only runs created at or after this time (RFC 3339, `2026-01-31T09:00:00Z`).
    #[arg(long)]
    since: Option<String>,
    /// Only runs created before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Only runs that touched this record: a record id or an e-mail address (any case).
    #[arg(long)]
    record: Option<String>,
    /// Print JSON (one array of runs, or one run for `show`) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// One run whole: its event, every attempt of every step with its input, output or error
    /// and duration, the links it wrote, and its dead letter.
    Show {
        /// The run's id (the first column of `tether runs`).
        id: i64,
    },
}

/// Prints runs, or one.
pub async fn run(args: RunsArgs) -> anyhow::Result<()> {
    let store = args.data.open_existing().await?;
    let service = Service::for_store(store.clone());
    if let Some(RunsCommand::Show { id }) = args.command {
        let run = store
            .run(RunId(id))
            .await
            .with_context(|| format!("no run {id}"))?;
        let steps = store.journal(run.id).await?;
        let detail = service.run_detail(id).await?;
        if args.json {
            let mut shown = run_json(&run, &steps);
            shown["event"] = json!({
                "id": detail.event.id,
                "source": detail.event.source,
                "kind": detail.event.kind,
                "received_at": detail.event.received_at,
                "payload": detail.event.payload.value,
            });
            shown["links"] = serde_json::to_value(&detail.links)?;
            shown["dead_letter"] = serde_json::to_value(&detail.dead_letter)?;
            outln!("{}", serde_json::to_string_pretty(&shown)?)?;
            return Ok(());
        }
        print_detail(&run, &steps, &detail)?;
        return Ok(());
    }
    let query = RunQuery {
        flow: args.flow,
        status: args.status,
        since: args.since,
        until: args.until,
        record: args.record,
    };
    let page = service
        .runs(&query, Some(args.limit.clamp(1, 500)), None)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut runs = Vec::with_capacity(page.items.len());
    for summary in &page.items {
        let run = store.run(RunId(summary.id)).await?;
        let steps = store.journal(run.id).await?;
        runs.push((run, steps));
    }
    if args.json {
        let runs: Vec<Value> = runs
            .iter()
            .map(|(run, steps)| run_json(run, steps))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&runs)?)?;
        return Ok(());
    }
    if runs.is_empty() {
        outln!("No runs match.")?;
        return Ok(());
    }
    for (run, steps) in &runs {
        outln!(
            "run {:<6} {:<32} v{} {:<10} attempts {}{}",
            run.id,
            run.flow_id,
            version_hex(run.flow_version),
            run.status.as_str(),
            run.attempts,
            run.last_error
                .as_ref()
                .map(|error| format!("  — {error}"))
                .unwrap_or_default()
        )?;
        for step in steps {
            outln!(
                "    {:<24} attempt {} {}",
                step.step_id,
                step.attempt,
                step.status.as_str()
            )?;
        }
    }
    if page.next_cursor.is_some() {
        outln!("(more runs: raise --limit or narrow the filters)")?;
    }
    Ok(())
}

/// The detail as text: the run, its event, each step with its input, outcome and duration, the
/// links, the dead letter.
fn print_detail(run: &Run, steps: &[StepResult], detail: &RunDetail) -> anyhow::Result<()> {
    super::run::print_run(run, steps)?;
    if let Some(error) = &run.last_error {
        outln!("last error: {error}")?;
    }
    outln!(
        "event {}: {} {} at {}",
        detail.event.id,
        detail.event.source,
        detail.event.kind,
        detail.event.received_at
    )?;
    for step in &detail.steps {
        let duration = step
            .duration_ms
            .map(|ms| format!(" in {ms} ms"))
            .unwrap_or_default();
        outln!(
            "  step {} (row {}, attempt {}) {}{duration}",
            step.step_id,
            step.row,
            step.attempt,
            step.status
        )?;
        if let Some(input) = &step.input {
            outln!("    input:  {}", one_line(&input.value, input.truncated))?;
        }
        if let Some(output) = &step.output {
            outln!("    output: {}", one_line(&output.value, output.truncated))?;
        }
        if let Some(error) = &step.error {
            outln!("    error:  {error}")?;
        }
    }
    for link in &detail.links {
        outln!(
            "  linked {} {} {} → {} {} {} (step {})",
            link.source_app,
            link.source_type,
            link.source_id,
            link.target_app,
            link.target_type,
            link.target_id,
            link.step_id
        )?;
    }
    if let Some(letter) = &detail.dead_letter {
        outln!(
            "dead letter {} ({}): {}",
            letter.id,
            letter.state,
            letter.reason
        )?;
    }
    Ok(())
}

fn one_line(value: &Value, truncated: bool) -> String {
    match (value, truncated) {
        (Value::String(text), true) => format!("{text}… (cut; `--json` or the API has it whole)"),
        _ => value.to_string(),
    }
}

/// A run and its steps as machine output; times in RFC 3339, the version as 16 hex digits.
fn run_json(run: &Run, steps: &[StepResult]) -> Value {
    json!({
        "id": run.id,
        "flow_id": run.flow_id,
        "flow_version": version_hex(run.flow_version),
        "event_id": run.event_id,
        "replay_of": run.replay_of,
        "status": run.status.as_str(),
        "attempts": run.attempts,
        "next_attempt_at": time(run.next_attempt_at_ms),
        "last_error": run.last_error,
        "created_at": time(run.created_at_ms),
        "updated_at": time(run.updated_at_ms),
        "steps": steps.iter().map(|step| json!({
            "row": step.row,
            "step_id": step.step_id,
            "attempt": step.attempt,
            "status": step.status.as_str(),
            "input": step.input,
            "output": step.output,
            "duration_ms": step.duration_ms,
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
