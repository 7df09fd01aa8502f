//! `tether runs`: recent runs with their steps and outcomes.

use crate::out::outln;
use clap::Args;

use super::data::DataArgs;

/// Arguments of `tether runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// How many runs to show, newest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[command(flatten)]
    data: DataArgs,
}

/// Prints recent runs.
pub async fn run(args: RunsArgs) -> anyhow::Result<()> {
    let store = args.data.open_existing().await?;
    let runs = store.runs_recent(args.limit).await?;
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
