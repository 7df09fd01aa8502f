//! `tether dlq list|show|replay`: runs that failed for good, why, and a way to run them again.

use crate::out::outln;
use anyhow::Context;
use clap::{Args, Subcommand};
use tether_store::DeadLetterId;

use super::data::DataArgs;

/// Arguments of `tether dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
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
            outln!("Dead letter {id} replays as run {run_id}.")?;
        }
    }
    Ok(())
}
