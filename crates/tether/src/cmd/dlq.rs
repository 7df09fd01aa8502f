//! `tether dlq list|show|replay`: runs that failed for good, why, and a way to run them again.

use crate::out::outln;
use anyhow::Context;
use clap::{Args, Subcommand};
use tether_store::{DeadLetter, DeadLetterId};

use super::data::DataArgs;

/// Arguments of `tether dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
    /// Print JSON instead of text (`list`, `show`).
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// The newest dead letters.
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One dead letter: reason, failing step and the event as received.
    Show {
        /// Its id.
        id: i64,
    },
    /// Run the dead letter's event again through its flow.
    Replay {
        /// Its id.
        id: i64,
        /// Run this flow version instead of the one that failed (after fixing the flow).
        #[arg(long)]
        flow_version: Option<i64>,
    },
}

/// Runs `tether dlq …`.
pub async fn run(args: DlqArgs) -> anyhow::Result<()> {
    let store = args.data.open_existing().await?;
    match args.command {
        DlqCommand::List { limit } => {
            let entries = store.dlq_list(limit).await?;
            if args.json {
                let listed: Vec<serde_json::Value> = entries.iter().map(entry_json).collect();
                outln!("{}", serde_json::to_string_pretty(&listed)?)?;
                return Ok(());
            }
            if entries.is_empty() {
                outln!("The dead-letter queue is empty.")?;
            }
            for entry in entries {
                outln!(
                    "{:<6} run {:<6} {:<32} step {:<20} {}{}",
                    entry.id,
                    entry.run_id,
                    entry.flow_id,
                    entry.failed_step.as_deref().unwrap_or("-"),
                    entry.reason,
                    entry
                        .replay_run_id
                        .map(|run| format!("  (replayed as run {run})"))
                        .unwrap_or_default()
                )?;
            }
        }
        DlqCommand::Show { id } => {
            let entry = store
                .dlq_get(DeadLetterId(id))
                .await
                .with_context(|| format!("no dead letter {id}"))?;
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&entry_json(&entry))?)?;
                return Ok(());
            }
            outln!(
                "dead letter {}: run {} of flow {} v{}",
                entry.id,
                entry.run_id,
                entry.flow_id,
                entry.flow_version
            )?;
            outln!("reason:  {}", entry.reason)?;
            outln!("step:    {}", entry.failed_step.as_deref().unwrap_or("-"))?;
            outln!(
                "event:   {} {} (attempts {})",
                entry.event_source,
                entry.event_kind,
                entry.attempts
            )?;
            outln!("{}", serde_json::to_string_pretty(&entry.payload)?)?;
        }
        DlqCommand::Replay { id, flow_version } => {
            let run_id = store.dlq_replay(DeadLetterId(id), flow_version).await?;
            if args.json {
                outln!(
                    "{}",
                    serde_json::json!({ "dead_letter": id, "run_id": run_id })
                )?;
                return Ok(());
            }
            outln!("Dead letter {id} replays as run {run_id}.")?;
        }
    }
    Ok(())
}

/// A dead letter as machine output, the event's payload included.
fn entry_json(entry: &DeadLetter) -> serde_json::Value {
    serde_json::json!({
        "id": entry.id,
        "run_id": entry.run_id,
        "flow_id": entry.flow_id,
        "flow_version": entry.flow_version,
        "attempts": entry.attempts,
        "event_id": entry.event_id,
        "event_source": entry.event_source,
        "event_kind": entry.event_kind,
        "failed_step": entry.failed_step,
        "reason": entry.reason,
        "created_at": super::runs::time(entry.created_at_ms),
        "replay_run_id": entry.replay_run_id,
        "replayed_at": entry.replayed_at_ms.map(super::runs::time),
        "payload": entry.payload,
    })
}
