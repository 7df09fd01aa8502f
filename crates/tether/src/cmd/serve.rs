//! `tether serve`: the long-running process — webhook intake, REST API, pollers, schedules, GHL's
//! reconciliation feed and the run worker.

use crate::out::say;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use tether_connectors::registry::Registry;
use tether_engine::invoke::Operations;
use tether_engine::worker::{Worker, starts};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::data::DataArgs;

/// Options of `tether serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Folder of flow files to run.
    #[arg(long, default_value = "flows")]
    flows: PathBuf,
    /// PEM file of the RSA key that verifies webhooks' `x-wh-signature` (default: HighLevel's
    /// published key, built in).
    #[arg(long, env = "TETHER_GHL_WEBHOOK_RSA_KEY")]
    ghl_rsa_key: Option<PathBuf>,
    /// PEM file of the Ed25519 key that verifies webhooks' `x-ghl-signature`, which decides alone
    /// whenever a webhook carries it (default: HighLevel's published key, built in).
    #[arg(long, env = "TETHER_GHL_WEBHOOK_ED25519_KEY")]
    ghl_ed25519_key: Option<PathBuf>,
    /// The process settings (also read from `tether.toml` and `TETHER_…` variables).
    #[command(flatten)]
    pub settings: crate::config::SettingsArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Serves until Ctrl-C.
pub async fn run(args: ServeArgs, settings: crate::config::Config) -> anyhow::Result<()> {
    let store = settings.data_args().open_or_create().await?;
    let flows = super::data::load_flows(&args.flows)?;
    let read = |path: &Option<PathBuf>| -> anyhow::Result<Option<String>> {
        path.as_ref()
            .map(|path| {
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))
            })
            .transpose()
    };
    let mut config = tether_server::ServerConfig {
        listen: settings.listen,
        ..tether_server::ServerConfig::default()
    };
    // Each key given replaces HighLevel's built-in one (after a rotation, or to trust a
    // simulator); the other keeps its default.
    if let Some(rsa) = read(&args.ghl_rsa_key)? {
        config.ghl_rsa_public_key_pem = Some(rsa);
    }
    if let Some(ed25519) = read(&args.ghl_ed25519_key)? {
        config.ghl_ed25519_public_key_pem = Some(ed25519);
    }

    let shutdown = CancellationToken::new();
    let ops: Arc<dyn Operations> = Arc::new(Registry::new(store.clone()));
    let poller = tether_engine::poller::Poller::new(store.clone(), ops.clone(), flows.clone());
    let poller_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { poller.run(shutdown).await })
    };
    let scheduler = tether_engine::scheduler::Scheduler::new(store.clone(), flows.clone());
    let scheduler_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { scheduler.run(shutdown).await })
    };
    let sync_task = {
        let (store, ops, flows) = (store.clone(), ops.clone(), flows.clone());
        let shutdown = shutdown.clone();
        let every = settings.reconcile_every;
        tokio::spawn(async move {
            tether_engine::ghl_sync::run(store, ops, flows, every, shutdown).await
        })
    };
    let sweep_task = tokio::spawn(sweep(store.clone(), settings.retention, shutdown.clone()));
    let ops_for_api = ops.clone();
    let mut worker = Worker::new(store.clone(), ops, flows.clone());
    worker.concurrency = settings.workers.max(1);
    let worker_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(shutdown).await })
    };
    let matcher = {
        let flows = flows.clone();
        move |kind: &str, _payload: &Value| starts(&flows, tether_server::webhooks::SOURCE, kind)
    };
    let service = tether_service::Service::new(
        store.clone(),
        ops_for_api,
        flows.clone(),
        tether_service::Settings {
            public_url: settings.public_url.clone(),
        },
    );
    let server =
        tether_server::serve_with(config, service, Arc::new(matcher), shutdown.clone()).await?;
    say!(
        "Tether serving on {} ({} flows from {})",
        server.base_url,
        flows.current().len(),
        args.flows.display()
    );
    say!(
        "  webhooks: {}/hooks/ghl   runs: {}/api/runs   health: {}/healthz",
        server.base_url,
        server.base_url,
        server.base_url
    );
    stop_signal().await?;
    say!("Stopping: finishing the runs in flight.");
    // Cancelling stops the intake of webhooks, the pollers, the scheduler and the leasing of new
    // runs; the worker then waits for the runs it already holds.
    shutdown.cancel();
    let _ = poller_task.await;
    let _ = sync_task.await;
    let _ = scheduler_task.await;
    let _ = sweep_task.await;
    let mut worker_task = worker_task;
    if tokio::time::timeout(DRAIN_FOR, &mut worker_task)
        .await
        .is_err()
    {
        // Whatever is still running keeps its lease until it expires, then another worker takes
        // the run over and resumes it from its journal; nothing is lost by leaving now.
        worker_task.abort();
        warn!(
            drain_secs = DRAIN_FOR.as_secs(),
            "Runs still in flight are left to their lease expiry."
        );
    }
    server.stop().await?;
    store.close().await;
    Ok(())
}

/// How long a stopping `tether serve` waits for its runs in flight. Shorter than a lease (30 s):
/// the worker stops renewing leases once it stops, so a run finished within this time still
/// holds its lease when it records its outcome.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(25);

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM, which service managers and container runtimes
/// send to stop a process.
async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot wait for Ctrl-C"),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")
    }
}

/// Deletes the finished runs older than `retention` at start, then hourly, until `shutdown`.
async fn sweep(
    store: tether_store::Store,
    retention: std::time::Duration,
    shutdown: CancellationToken,
) {
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    loop {
        let before = tether_store::now_ms().saturating_sub(retention_ms);
        match store
            .sweep_finished_runs(before, tether_store::retention::SWEEP_BATCH)
            .await
        {
            Ok(0) => {}
            Ok(deleted) => info!(
                deleted,
                retention_secs = retention.as_secs(),
                "Deleted finished runs older than the retention."
            ),
            Err(error) => warn!(%error, "Cannot sweep old finished runs; trying again in an hour."),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
        }
    }
}
