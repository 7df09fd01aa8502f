//! `tether run FLOW`: runs one flow now, against the stored connections, and prints the run.
//!
//! The event is stored with a fresh key and enqueued for the named flow alone, from the source
//! `<app>.manual` (the app of the flow's trigger; `manual` for a schedule), so the records it
//! writes are linked under the trigger's app as a webhook or poll would link them: a later change
//! of the same record updates the same target. It is executed in this process at once, and the
//! exit code says whether it finished. `--dry-run` stores nothing and calls no action: it evaluates the
//! filters, maps and lookups (lookups do call their operation) and prints each action's input.

use crate::out::outln;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use serde_json::{Value, json};
use tether_connectors::registry::Registry;
use tether_engine::executor::{FlowSet, set_output};
use tether_engine::expr::{self, Context};
use tether_engine::flow::{Flow, PollSource, StepKind, TriggerSpec};
use tether_engine::invoke::Operations;
use tether_engine::worker::{Worker, default_event_kind, intake_for_flow};
use tether_store::{Run, RunId, RunStatus, StepResult, StepStatus, Store};

use super::data::DataArgs;

/// The source of events `tether run` stores for a flow without an app (a schedule), and the
/// suffix of the others' (`ghl.manual`).
pub const SOURCE: &str = "manual";

/// The source of the events `tether run` stores for `flow`: `<app>.manual`, where app is the app
/// its trigger listens to, so links name the record as its webhook or poll would.
pub fn manual_source(flow: &Flow) -> String {
    let app = match &flow.trigger {
        TriggerSpec::Webhook { app, .. } => Some(app.as_str()),
        TriggerSpec::Poll { source, .. } => {
            let (PollSource::Operation(name) | PollSource::Resource(name)) = source;
            name.split('.').next()
        }
        TriggerSpec::Schedule { .. } => None,
    };
    match app {
        Some(app) if !app.is_empty() => format!("{app}.{SOURCE}"),
        _ => SOURCE.to_owned(),
    }
}

/// How long `tether run` waits for its run when a `tether serve` sharing the store leased it
/// first.
const WAIT_FOR_OTHER_WORKER: Duration = Duration::from_secs(300);

/// Arguments of `tether run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The flow's id (`ghl-contact-to-df-customer`).
    flow: String,
    /// Folder of flow files.
    #[arg(long, default_value = "flows")]
    flows: PathBuf,
    /// The trigger event as JSON, `@FILE` to read it from a file, `@-` from standard input (default: `{}`; for a
    /// schedule flow, a tick due now).
    #[arg(long)]
    event: Option<String>,
    /// The event kind (default: a webhook flow's first event type, `tick` for a schedule, the
    /// polled operation's kind for a poll, such as `customer.new`).
    #[arg(long)]
    kind: Option<String>,
    /// Evaluate filters, maps and lookups and print what each action would send, without calling
    /// any action or storing anything.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    data: DataArgs,
}

/// Runs the flow once and prints the run; fails when the run did not finish.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let flows = super::data::load_flows(&args.flows)?;
    let flow = find_flow(&flows, &args.flow, &args.flows)?;
    let now = Utc::now();
    let kind = args.kind.unwrap_or_else(|| default_event_kind(&flow));
    let payload = match &args.event {
        Some(text) => read_event(text)?,
        None => default_payload(&flow, now),
    };
    let store = args.data.open_existing().await?;
    let ops: Arc<dyn Operations> = Arc::new(Registry::new(store.clone()));
    if args.dry_run {
        return dry_run(&flow, ops.as_ref(), payload, now).await;
    }
    let key = format!(
        "{}@{}#{:08x}",
        flow.id,
        now.to_rfc3339_opts(SecondsFormat::Millis, true),
        fastrand::u32(..)
    );
    let (_, run_id) = intake_for_flow(
        &store,
        &flows,
        &flow.id,
        &manual_source(&flow),
        &key,
        &kind,
        &payload,
    )
    .await?
    .with_context(|| format!("flow {:?} is not loaded", flow.id))?;
    let worker = Worker::new(store.clone(), ops, flows.clone());
    if worker
        .run_one(run_id, tether_store::now_ms())
        .await?
        .is_none()
    {
        // A `tether serve` sharing the store took it first; it reports to the same tables.
        eprintln!("Run {run_id} was taken by another worker; waiting for it.");
        wait_until_attempted(&store, run_id).await?;
    }
    let run = store.run(run_id).await?;
    let steps = store.journal(run_id).await?;
    print_run(&run, &steps)?;
    match run.status {
        RunStatus::Done => Ok(()),
        RunStatus::Dead | RunStatus::Retry => {
            let (step, reason) = failure(&run, &steps);
            let fate = if run.status == RunStatus::Dead {
                "is in the dead-letter queue (`tether dlq list`)"
            } else {
                "will be retried by `tether serve`"
            };
            Err(anyhow!(
                "run {} of {} failed at {}: {reason}; it {fate}",
                run.id,
                flow.id,
                step.map_or_else(|| "its start".to_owned(), |step| format!("step `{step}`"))
            ))
        }
        RunStatus::Queued | RunStatus::Running => Err(anyhow!(
            "run {} of {} has not finished yet (`tether runs` shows it later)",
            run.id,
            flow.id
        )),
    }
}

fn find_flow(flows: &FlowSet, id: &str, dir: &std::path::Path) -> anyhow::Result<Arc<Flow>> {
    let current = flows.current();
    if let Some((_, flow)) = current.iter().find(|(_, flow)| flow.id == id) {
        return Ok(flow.clone());
    }
    let known: Vec<&str> = current.iter().map(|(_, flow)| flow.id.as_str()).collect();
    bail!(
        "no flow {id:?} in {}; its flows are: {}",
        dir.display(),
        if known.is_empty() {
            "(none)".to_owned()
        } else {
            known.join(", ")
        }
    )
}

/// `--event`: JSON, `@FILE`, or `@-` (standard input).
fn read_event(text: &str) -> anyhow::Result<Value> {
    let (json, place) = super::read_at(text, "--event")?;
    serde_json::from_str(&json).with_context(|| format!("{place} is not valid JSON"))
}

/// `{}`, or for a schedule flow the payload of a tick due now (as the scheduler sends it).
fn default_payload(flow: &Flow, now: DateTime<Utc>) -> Value {
    match flow.trigger {
        TriggerSpec::Schedule { .. } => {
            let now = now.to_rfc3339_opts(SecondsFormat::Secs, true);
            json!({ "scheduled_at": now, "fired_at": now })
        }
        _ => json!({}),
    }
}

/// Waits until the run's first attempt ended (done, retry or dead), or gives up.
async fn wait_until_attempted(store: &Store, run_id: RunId) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let run = store.run(run_id).await?;
        if matches!(
            run.status,
            RunStatus::Done | RunStatus::Dead | RunStatus::Retry
        ) {
            return Ok(());
        }
        if started.elapsed() > WAIT_FOR_OTHER_WORKER {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Prints the run as `tether runs` does, with each step's outcome: the record id an action or
/// lookup answered, whether a filter passed, or why a step failed.
pub fn print_run(run: &Run, steps: &[StepResult]) -> std::io::Result<()> {
    outln!(
        "run {:<6} {:<32} v{} {:<10} attempts {}",
        run.id.to_string(),
        run.flow_id,
        tether_engine::executor::version_hex(run.flow_version),
        run.status.as_str(),
        run.attempts
    )?;
    for step in steps {
        outln!(
            "    {:<24} attempt {} {:<8} {}",
            step.step_id,
            step.attempt,
            step.status.as_str(),
            step_outcome(step)
        )?;
    }
    Ok(())
}

fn step_outcome(step: &StepResult) -> String {
    let output = &step.output;
    if step.status == StepStatus::Failed {
        return output
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("failed")
            .to_owned();
    }
    if output.get("filtered").is_some() {
        return "(a filter stopped the run)".to_owned();
    }
    if let Some(passed) = output.get("passed").and_then(Value::as_bool) {
        return if passed { "passed" } else { "stopped the run" }.to_owned();
    }
    let unchanged = output.get("unchanged").and_then(Value::as_bool) == Some(true);
    match record_id(output) {
        Some(id) if unchanged => format!("id {id} (unchanged, not written)"),
        Some(id) => format!("id {id}"),
        None => String::new(),
    }
}

/// The id of the record an output names: its `id`, or the `id` of its one nested record
/// (`{"contact": {"id": …}}`).
fn record_id(output: &Value) -> Option<String> {
    let text = |value: &Value| match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    output.get("id").and_then(text).or_else(|| {
        output
            .as_object()?
            .values()
            .find_map(|nested| nested.get("id").and_then(text))
    })
}

/// The failing step and its reason: the last failed journal entry, else the run's last error.
fn failure(run: &Run, steps: &[StepResult]) -> (Option<String>, String) {
    let failed = steps
        .iter()
        .rev()
        .find(|step| step.status == StepStatus::Failed);
    let reason = failed
        .and_then(|step| step.output.get("error").and_then(Value::as_str))
        .map(str::to_owned)
        .or_else(|| run.last_error.clone())
        .unwrap_or_else(|| "no reason was recorded".to_owned());
    (failed.map(|step| step.step_id.clone()), reason)
}

/// Evaluates the flow's steps as the executor would, calling lookups but no action, and prints
/// each step; an action's output is unknown, so later steps see `{"dry_run": true}` for it.
async fn dry_run(
    flow: &Flow,
    ops: &dyn Operations,
    payload: Value,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    outln!(
        "dry run of {} (nothing is stored, no action is called)",
        flow.id
    )?;
    let mut context = Context::new(payload, now).with_flow(&flow.id, &flow.name, &flow.version);
    for step in &flow.steps {
        let failed = |reason: String| anyhow!("step `{}` fails: {reason}", step.id);
        let output = match &step.kind {
            StepKind::Filter { when } => {
                let value = expr::evaluate(when, &context).map_err(|e| failed(e.to_string()))?;
                let passed = expr::truthy(&value);
                outln!(
                    "    {:<24} filter   {}",
                    step.id,
                    if passed { "passed" } else { "stops the run" }
                )?;
                if !passed {
                    outln!("The filter stops the run here: no action would be called.")?;
                    return Ok(());
                }
                json!({ "passed": true })
            }
            StepKind::Map { fields } => {
                let (record, problems) = expr::map_record(fields, &context);
                if !problems.is_empty() {
                    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    return Err(failed(problems.join("; ")));
                }
                outln!("    {:<24} map      {record}", step.id)?;
                record
            }
            StepKind::Lookup {
                operation,
                connection,
                input,
                ..
            } => {
                let input = expr::evaluate_value(input, &context)
                    .map_err(|e| failed(format!("input.{e}")))?;
                let output = ops
                    .invoke(connection, operation, input)
                    .await
                    .map_err(|e| failed(format!("{operation} on {connection}: {e}")))?;
                outln!(
                    "    {:<24} lookup   {operation} on {connection} → {output}",
                    step.id
                )?;
                output
            }
            StepKind::Action {
                operation,
                connection,
                input,
                match_on,
                ..
            } => {
                let input = expr::evaluate_value(input, &context)
                    .map_err(|e| failed(format!("input.{e}")))?;
                outln!(
                    "    {:<24} action   would call {operation} on {connection} with:",
                    step.id
                )?;
                outln!("{}", indent(&serde_json::to_string_pretty(&input)?))?;
                if let Some(match_on) = match_on {
                    let value = expr::evaluate(&match_on.value, &context)
                        .map_err(|e| failed(format!("match.value: {e}")))?;
                    outln!(
                        "{}",
                        indent(&format!(
                            "(updating instead the record whose {} is {value}, when one exists)",
                            match_on.field
                        ))
                    )?;
                }
                json!({ "dry_run": true })
            }
        };
        set_output(&mut context, step, output);
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("        {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
