//! `tether serve`: the long-running process — webhook intake, REST API, pollers, schedules, GHL's
//! reconciliation feed and the run worker.

use crate::out::say;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use tether_connectors::registry::Registry;
use tether_engine::executor::FlowSet;
use tether_engine::invoke::Operations;
use tether_engine::worker::{Worker, starts};
use tether_service::flows::ApplyOutcome;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::data::DataArgs;

/// Options of `tether serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Folder of flow files to apply at start, as `tether flows apply` does (files whose text
    /// changed are published; a file with problems stops the start). The flows in the store run,
    /// and a publish, enable or disable made meanwhile (by `tether flows` or the API, from any
    /// process) is picked up within seconds. Default: `./flows` when that folder exists.
    #[arg(long)]
    flows: Option<PathBuf>,
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
pub async fn run(args: ServeArgs, mut settings: crate::config::Config) -> anyhow::Result<()> {
    if settings.listen.port() == 0 {
        // "Any free port" (tests, several servers on one machine): the port is chosen now, so
        // that the public URL derived from it (setup link, OAuth redirects) is the real one.
        let probe = std::net::TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = probe.local_addr()?.port();
        drop(probe);
        if settings.public_url.port() == Some(0) {
            let _ = settings.public_url.set_port(Some(port));
        }
        settings.listen.set_port(port);
    }
    let store = settings.data_args().open_or_create().await?;
    // Other `tether serve` processes on the same database may spend the same rate limits.
    let ops: Arc<dyn Operations> = Arc::new(Registry::new(store.clone()).sharing_budgets());
    let service = tether_service::Service::new(
        store.clone(),
        ops.clone(),
        FlowSet::new(),
        tether_service::Settings {
            public_url: settings.public_url.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            retention: settings.retention,
        },
    );
    let flows_dir = match args.flows {
        Some(dir) => Some(dir),
        None => Some(PathBuf::from("flows")).filter(|dir| dir.is_dir()),
    };
    let mut applied = String::new();
    // An empty folder has nothing to apply (a fresh project); the stored flows still run.
    let flows_dir =
        flows_dir.filter(|dir| !(dir.is_dir() && super::flows::flow_files(dir).0.is_empty()));
    if let Some(dir) = &flows_dir {
        // Connections are not checked: they may be connected after the flows are applied, as
        // before flows lived in the store.
        let report = super::flows::apply_paths(
            &service,
            std::slice::from_ref(dir),
            None,
            tether_service::flows::Checks::WithoutConnections,
        )
        .await?;
        if report.refused > 0 {
            // A broken file is refused with its problems; it never stops the other flows.
            let refused: Vec<&String> = report
                .lines
                .iter()
                .filter(|line| {
                    !line.starts_with("created")
                        && !line.starts_with("updated")
                        && !line.starts_with("unchanged")
                })
                .collect();
            eprintln!(
                "warning: {} flow file(s) in {} were refused and do not run; the others do:",
                report.refused,
                dir.display()
            );
            for line in refused {
                eprintln!("  {line}");
            }
        }
        let count = |outcome| {
            report
                .applied
                .iter()
                .filter(|applied| applied.outcome == outcome)
                .count()
        };
        applied = format!(
            "; applied {}: {} created, {} updated, {} unchanged",
            dir.display(),
            count(ApplyOutcome::Created),
            count(ApplyOutcome::Updated),
            count(ApplyOutcome::Unchanged)
        );
    }
    let mut counter = service.reload_flows_since(0).await?;
    let flows = service.flows().clone();
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
    // Publishes, enables and disables made by another process (the CLI, another node's API):
    // one cheap read of the change counter every two seconds, then the changed flows reload.
    let reload_task = {
        let (service, shutdown) = (service.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(RELOAD_EVERY) => {}
                }
                match service.reload_flows_since(counter).await {
                    Ok(next) => counter = next,
                    Err(error) => warn!(%error, "Cannot read the flows' changes; trying again."),
                }
            }
        })
    };
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
    let server =
        tether_server::serve_with(config, service.clone(), Arc::new(matcher), shutdown.clone())
            .await?;
    say!(
        "Tether serving on {} ({} flows running from the store{applied})",
        server.base_url,
        flows.current().len(),
    );
    say!(
        "  webhooks: {}/hooks/ghl   API: {}/api/v1   health: {}/healthz",
        server.base_url,
        server.base_url,
        server.base_url
    );
    super::accounts::announce(&service, server.addr).await?;
    stop_signal().await?;
    say!("Stopping: finishing the runs in flight.");
    // Cancelling stops the intake of webhooks, the pollers, the scheduler and the leasing of new
    // runs; the worker then waits for the runs it already holds.
    shutdown.cancel();
    let _ = poller_task.await;
    let _ = sync_task.await;
    let _ = scheduler_task.await;
    let _ = reload_task.await;
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

/// How often the store's flow changes are read.
const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

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
