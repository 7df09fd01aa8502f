//! `tether dlq list|show|replay|replay-all|resolve`: runs that failed for good, why, and what a
//! person does about them. The rules are the service's ([`tether_service::runs`]): a replay names
//! where it starts and which flow version it runs, a dead letter is replayed once, and a version
//! that is no longer loaded is refused with the versions named.

use std::path::PathBuf;
use std::sync::Arc;

use crate::out::outln;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use tether_engine::executor::version_hex;
use tether_engine::invoke::Operations;
use tether_service::runs::{
    BulkReplayRequest, DeadLetterQuery, ReplayFrom, ReplayRequest, ReplayVersion,
};
use tether_service::{Service, Settings};
use tether_store::{DeadLetter, DeadLetterId, Store};

use super::data::DataArgs;

/// Arguments of `tether dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

/// Where a replay starts.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum From {
    /// At the step that failed; the steps before it keep their journal.
    FailedStep,
    /// From the first step.
    Start,
}

#[derive(Debug, Args)]
struct ReplayChoices {
    /// Where the new run starts.
    #[arg(long, value_enum)]
    from: From,
    /// Which flow version it runs: `ran` (the version that failed; refused when it is no
    /// longer loaded), `current`, or a loaded version's 16 hex digits.
    #[arg(long)]
    version: ReplayVersion,
    /// Folder of flow files: the versions `tether serve` runs.
    #[arg(long, default_value = "flows")]
    flows: PathBuf,
}

impl ReplayChoices {
    fn request(&self) -> ReplayRequest {
        ReplayRequest {
            from: match self.from {
                From::FailedStep => ReplayFrom::FailedStep,
                From::Start => ReplayFrom::Start,
            },
            version: self.version.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Dead letters, newest first.
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only of this flow.
        #[arg(long)]
        flow: Option<String>,
        /// Only those whose reason contains this text (any case).
        #[arg(long)]
        reason: Option<String>,
        /// Only those in this state: open, replayed, resolved.
        #[arg(long)]
        state: Option<String>,
    },
    /// One dead letter: reason, failing step and the event as received.
    Show {
        /// Its id.
        id: i64,
    },
    /// Run the dead letter's event again through its flow, once.
    Replay {
        /// Its id.
        id: i64,
        #[command(flatten)]
        choices: ReplayChoices,
    },
    /// Replay every open dead letter matching the filters.
    ReplayAll {
        /// Only of this flow.
        #[arg(long)]
        flow: Option<String>,
        /// Only those whose reason contains this text (any case).
        #[arg(long)]
        reason: Option<String>,
        /// Only those dead-lettered at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        choices: ReplayChoices,
    },
    /// Mark a dead letter resolved: it needs no replay.
    Resolve {
        /// Its id.
        id: i64,
        /// Why, for the next person.
        #[arg(long, default_value = "")]
        note: String,
    },
}

/// A service over `store` running the flows in `dir`, for replays.
fn service_with_flows(store: Store, dir: &std::path::Path) -> anyhow::Result<Service> {
    let flows = super::data::load_flows(dir)?;
    let ops: Arc<dyn Operations> =
        Arc::new(tether_connectors::registry::Registry::new(store.clone()));
    Ok(Service::new(store, ops, flows, Settings::default()))
}

/// Runs `tether dlq …`.
pub async fn run(args: DlqArgs) -> anyhow::Result<()> {
    let store = args.data.open_existing().await?;
    match args.command {
        DlqCommand::List {
            limit,
            flow,
            reason,
            state,
        } => {
            let service = Service::for_store(store.clone());
            let query = DeadLetterQuery {
                flow,
                reason,
                state,
                ..DeadLetterQuery::default()
            };
            let page = service
                .dead_letters(&query, Some(limit.clamp(1, 500)), None)
                .await?;
            let mut entries = Vec::with_capacity(page.items.len());
            for item in &page.items {
                entries.push(store.dlq_get(DeadLetterId(item.id)).await?);
            }
            if args.json {
                let listed: Vec<serde_json::Value> = entries.iter().map(entry_json).collect();
                outln!("{}", serde_json::to_string_pretty(&listed)?)?;
                return Ok(());
            }
            if entries.is_empty() {
                outln!("No dead letters match.")?;
            }
            for entry in entries {
                outln!(
                    "{:<6} run {:<6} {:<32} step {:<20} {}{}",
                    entry.id,
                    entry.run_id,
                    entry.flow_id,
                    entry.failed_step.as_deref().unwrap_or("-"),
                    entry.reason,
                    state_words(&entry)
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
                "dead letter {}: run {} of flow {} v{}{}",
                entry.id,
                entry.run_id,
                entry.flow_id,
                version_hex(entry.flow_version),
                state_words(&entry)
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
        DlqCommand::Replay { id, choices } => {
            let service = service_with_flows(store, &choices.flows)?;
            let answer = service
                .replay_dead_letter(id, &choices.request(), None)
                .await?;
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&answer)?)?;
                return Ok(());
            }
            outln!(
                "Dead letter {id} replays with version {}: {}.",
                answer.flow_version,
                answer.message
            )?;
        }
        DlqCommand::ReplayAll {
            flow,
            reason,
            since,
            choices,
        } => {
            let service = service_with_flows(store, &choices.flows)?;
            let request = BulkReplayRequest {
                filter: DeadLetterQuery {
                    flow,
                    reason,
                    since,
                    ..DeadLetterQuery::default()
                },
                from: choices.request().from,
                version: choices.version.clone(),
            };
            let answer = service.replay_dead_letters(&request).await?;
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&answer)?)?;
                return Ok(());
            }
            outln!(
                "{} dead letter(s) queued for replay; a running `tether serve` will execute them.",
                answer.queued
            )?;
            for skipped in &answer.skipped {
                outln!(
                    "skipped dead letter {}: {}",
                    skipped.dead_letter_id,
                    skipped.reason
                )?;
            }
        }
        DlqCommand::Resolve { id, note } => {
            let service = Service::for_store(store);
            let letter = service.resolve_dead_letter(id, &note).await?;
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&letter)?)?;
                return Ok(());
            }
            outln!("Dead letter {id} is resolved.")?;
        }
    }
    Ok(())
}

/// What a person did about a dead letter, in words (empty when it is open).
fn state_words(entry: &DeadLetter) -> String {
    if let Some(run) = entry.replay_run_id {
        format!("  (replayed as run {run})")
    } else if entry.resolved_at_ms.is_some() {
        format!(
            "  (resolved{})",
            entry
                .resolution_note
                .as_deref()
                .filter(|note| !note.is_empty())
                .map(|note| format!(": {note}"))
                .unwrap_or_default()
        )
    } else {
        String::new()
    }
}

/// A dead letter as machine output, the event's payload included.
fn entry_json(entry: &DeadLetter) -> serde_json::Value {
    serde_json::json!({
        "id": entry.id,
        "run_id": entry.run_id,
        "flow_id": entry.flow_id,
        "flow_version": version_hex(entry.flow_version),
        "attempts": entry.attempts,
        "event_id": entry.event_id,
        "event_source": entry.event_source,
        "event_kind": entry.event_kind,
        "failed_step": entry.failed_step,
        "reason": entry.reason,
        "created_at": super::runs::time(entry.created_at_ms),
        "replay_run_id": entry.replay_run_id,
        "replayed_at": entry.replayed_at_ms.map(super::runs::time),
        "resolved_at": entry.resolved_at_ms.map(super::runs::time),
        "resolution_note": entry.resolution_note,
        "payload": entry.payload,
    })
}
