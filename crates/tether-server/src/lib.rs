//! Tether's HTTP server (axum): GHL webhook intake ([`webhooks`]), its counters (`GET /metrics`)
//! and the REST API: [`v1`] (`/api/v1`, over the service layer) and the first routes in [`api`]
//! (`GET /healthz`), and the web UI (`tether_web`), which answers every path no route took.
//!
//! The server decides nothing about flows: which flows an event starts is the [`FlowMatcher`]'s
//! answer, which the binary plugs in from the engine's flow set: it answers from memory on the
//! request path, while the event and its runs are still stored in one transaction.
//!
//! **Invariant:** a webhook is answered 200 only after the store call that made it durable
//! returned; when it cannot be stored, or the engine is behind, the answer is 429, the only
//! status GHL redelivers on.

pub mod api;
pub mod error;
mod metrics;
pub mod v1;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde_json::Value;
use tether_service::Service;
use tether_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::{ApiError, Error};
pub use webhooks::{GHL_ED25519_PUBLIC_KEY_PEM, GHL_RSA_PUBLIC_KEY_PEM, WebhookKeys};

/// Decides which flows an event starts: answers `(flow id, flow version)` pairs, each of which
/// becomes one queued run, stored in the same transaction as the event.
///
/// It is called on the request path before the event is stored, so it should answer from memory
/// (the engine's index of enabled flows by trigger), not do I/O.
pub trait FlowMatcher: Send + Sync + 'static {
    /// The flows the event of type `kind` (GHL's `type`, e.g. `ContactCreate`) with body
    /// `payload` starts.
    fn flows_for(&self, kind: &str, payload: &Value) -> Vec<(String, i64)>;
}

impl<F> FlowMatcher for F
where
    F: Fn(&str, &Value) -> Vec<(String, i64)> + Send + Sync + 'static,
{
    fn flows_for(&self, kind: &str, payload: &Value) -> Vec<(String, i64)> {
        self(kind, payload)
    }
}

/// A matcher that starts no flows: events are only stored (for a later replay or poll).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFlows;

impl FlowMatcher for NoFlows {
    fn flows_for(&self, _kind: &str, _payload: &Value) -> Vec<(String, i64)> {
        Vec::new()
    }
}

/// How the server runs. Build it in code (tests: port 0) or from the process configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Public key for `x-wh-signature` (RSA-SHA256), SPKI or PKCS#1 PEM. Defaults to GHL's
    /// published key ([`GHL_RSA_PUBLIC_KEY_PEM`]).
    pub ghl_rsa_public_key_pem: Option<String>,
    /// Public key for `x-ghl-signature` (Ed25519), SPKI PEM. Defaults to GHL's published key
    /// ([`GHL_ED25519_PUBLIC_KEY_PEM`]). `None` leaves that header unchecked, so the RSA signature
    /// decides (see [`webhooks`]).
    pub ghl_ed25519_public_key_pem: Option<String>,
    /// Largest webhook body accepted, in bytes; larger ones get 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// How far a webhook's `timestamp` may lie in the past or the future. Default 5 minutes, the
    /// window GHL's docs suggest.
    pub max_clock_skew: Duration,
    /// Webhooks are refused with 429 (and not stored) while more than this many runs are queued
    /// or waiting for a retry. Default 10,000.
    pub max_pending_runs: i64,
    /// How long a pending-run count is reused before the store is asked again. Default 100 ms;
    /// the limit can be overshot by what arrives within this time.
    pub backpressure_refresh: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8800)),
            ghl_rsa_public_key_pem: Some(GHL_RSA_PUBLIC_KEY_PEM.to_owned()),
            ghl_ed25519_public_key_pem: Some(GHL_ED25519_PUBLIC_KEY_PEM.to_owned()),
            max_body_bytes: 1024 * 1024,
            max_clock_skew: Duration::from_secs(5 * 60),
            max_pending_runs: 10_000,
            backpressure_refresh: Duration::from_millis(100),
        }
    }
}

/// Every route, ready to serve or to call with `tower::ServiceExt::oneshot`. Fails when the
/// configured keys are unusable.
pub fn router(
    config: ServerConfig,
    store: Store,
    matcher: Arc<dyn FlowMatcher>,
) -> Result<Router, Error> {
    router_with(config, Service::for_store(store), matcher)
}

/// Every route, over `service` (its store, flows and operations).
pub fn router_with(
    config: ServerConfig,
    service: Service,
    matcher: Arc<dyn FlowMatcher>,
) -> Result<Router, Error> {
    let store = service.store().clone();
    let keys = WebhookKeys::from_pem(
        config.ghl_rsa_public_key_pem.as_deref(),
        config.ghl_ed25519_public_key_pem.as_deref(),
    )?;
    let counters = Arc::new(metrics::WebhookCounters::default());
    let intake = Arc::new(webhooks::Intake {
        store: store.clone(),
        keys,
        matcher,
        config,
        counters: counters.clone(),
        pending: tokio::sync::Mutex::new(None),
    });
    let csp = v1::auth::content_security_policy(&service);
    Ok(Router::new()
        .merge(webhooks::routes(intake))
        .merge(metrics::routes(counters))
        .merge(api::routes(store))
        .merge(v1::routes(service))
        // Last: the UI's fallback; it never answers the server's own paths with the app.
        .merge(tether_web::routes())
        .layer(axum::middleware::map_response_with_state(
            csp,
            v1::auth::security_headers,
        )))
}

/// A server listening on a socket.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://addr`.
    pub base_url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets open requests finish (each stored event is answered), and waits.
    pub async fn stop(self) -> Result<(), Error> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the server stops (its shutdown token is cancelled).
    pub async fn wait(self) -> Result<(), Error> {
        match self.task.await {
            Ok(served) => served.map_err(Error::Serve),
            Err(join) => Err(Error::Serve(std::io::Error::other(join))),
        }
    }
}

/// Binds `config.listen` and serves every route until `shutdown` is cancelled, then shuts down
/// gracefully: requests in flight finish, so no event is stored without its answer being sent.
pub async fn serve(
    config: ServerConfig,
    store: Store,
    matcher: Arc<dyn FlowMatcher>,
    shutdown: CancellationToken,
) -> Result<RunningServer, Error> {
    serve_with(config, Service::for_store(store), matcher, shutdown).await
}

/// Like [`serve`], over `service`: what `tether serve` runs, with its flows and registry.
pub async fn serve_with(
    config: ServerConfig,
    service: Service,
    matcher: Arc<dyn FlowMatcher>,
    shutdown: CancellationToken,
) -> Result<RunningServer, Error> {
    let addr = config.listen;
    let app = router_with(config, service, matcher)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        // The peer's address reaches handlers (sign-in throttling per client address).
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    });
    tracing::info!(%addr, "Server listening.");
    Ok(RunningServer {
        addr,
        base_url: format!("http://{addr}"),
        shutdown,
        task,
    })
}
