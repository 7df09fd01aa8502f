//! The HighLevel (GHL / LeadConnector) simulator: Contacts v2, the appointment operations of
//! Calendars v2, OAuth 2.0, rate limits, signed webhooks, seeding and fault injection.
//!
//! Build one with [`GhlSim::new`], then serve [`GhlSim::router`] yourself or call
//! [`GhlSim::spawn`] to listen on an address. Records live in memory, per location.

pub mod auth;
pub mod error;
pub mod extract;
pub mod faults;
pub mod gate;
pub mod log;
pub mod model;
pub mod ops;
pub mod ratelimit;
pub mod spec;
pub mod state;
pub mod v3;
pub mod webhooks;

mod admin;
mod calendars;
mod contacts;
mod notes;
mod oauth;
mod seed;
mod tasks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use ratelimit::RateLimitConfig;
pub use state::World;

/// `Version` header values the API documentation lists as supported (reference README §1).
///
/// In strict mode (the default) an operation takes the value its v2 spec enumerates, `2023-02-21`
/// (what the official Node SDK sends on every call) and, on the paths a v3 spec serves, `v3`
/// (what the official Python SDK sends; see [`ops::Dialect`]). With `strict_version` off any of
/// these values passes on any v2 path.
pub const SUPPORTED_VERSIONS: &[&str] = &["2021-04-15", "2021-07-28", "2023-02-21"];

/// A Marketplace app registered with the simulator, for the OAuth flow.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// Redirect URIs allowed; empty allows any loopback URI.
    pub redirect_uris: Vec<String>,
    /// The app's default webhook URL (receives INSTALL / UNINSTALL and every event).
    pub webhook_url: Option<String>,
}

/// How to build the simulator.
#[derive(Debug, Clone)]
pub struct GhlSimConfig {
    /// The agency every location belongs to.
    pub company_id: String,
    /// The main location (seeded, reached by the PITs).
    pub location_id: String,
    /// Its display name.
    pub location_name: String,
    /// Further empty locations in the same agency (choices on the authorize page).
    pub extra_locations: usize,
    /// Private integration tokens valid on the main location, with every scope served.
    pub pits: Vec<String>,
    /// How many contacts to generate in the main location.
    pub seed_contacts: usize,
    /// Seed of the id and data generator: same seed, same world. `None` draws from entropy.
    pub rng_seed: Option<u64>,
    /// Burst and daily limits.
    pub rate_limit: RateLimitConfig,
    /// Lifetime of OAuth access tokens (GHL: 86,399 s).
    pub access_token_ttl: Duration,
    /// Registered Marketplace apps.
    pub apps: Vec<OAuthApp>,
    /// Webhook receiver URLs registered from the start.
    pub webhook_urls: Vec<String>,
    /// A folder with other signing key files (see `keys/README.md`); `None` uses the built-in ones.
    pub webhook_keys_dir: Option<PathBuf>,
    /// Time between webhook retries after a receiver answers 429 (GHL: about 10 minutes, plus up
    /// to 10 % random jitter here); tests set milliseconds.
    pub webhook_retry_interval: Duration,
    /// How long a webhook receiver may take to answer; no answer in time is final, as with GHL.
    /// GHL does not document its own timeout.
    pub webhook_timeout: Duration,
    /// Accept only the `Version` values each path is documented for (its v2 spec's value,
    /// `2023-02-21`, and `v3` where a v3 spec serves the path); off, any supported value passes.
    pub strict_version: bool,
    /// `Some`: the OAuth authorize page approves at once and redirects with the code, installing to
    /// the location named (`None` inside: the main location), so an unattended standard OAuth 2.0
    /// client completes the flow. `None`: the page asks, as GHL's does.
    pub auto_approve: Option<Option<String>>,
    /// How many received requests the admin API keeps (0: none).
    pub request_log_capacity: usize,
}

impl Default for GhlSimConfig {
    fn default() -> Self {
        GhlSimConfig {
            company_id: "5DP4iH6HLkQsiKESj6rh".into(),
            location_id: "ve9EPM428h8vShlRW1KT".into(),
            location_name: "Details Flowers (sim)".into(),
            extra_locations: 1,
            pits: Vec::new(),
            seed_contacts: 0,
            rng_seed: Some(42),
            rate_limit: RateLimitConfig::default(),
            access_token_ttl: Duration::from_secs(86_399),
            apps: vec![OAuthApp {
                client_id: "sim-client-id".into(),
                client_secret: "sim-client-secret".into(),
                redirect_uris: Vec::new(),
                webhook_url: None,
            }],
            webhook_urls: Vec::new(),
            webhook_keys_dir: None,
            webhook_retry_interval: Duration::from_secs(600),
            webhook_timeout: Duration::from_secs(10),
            strict_version: true,
            auto_approve: None,
            request_log_capacity: 10_000,
        }
    }
}

/// A GHL simulator: its world and its routes.
#[derive(Clone)]
pub struct GhlSim {
    world: Arc<World>,
}

impl GhlSim {
    /// Builds the world: agency, locations, PITs and seeded records.
    pub fn new(config: GhlSimConfig) -> Self {
        let world = Arc::new(World::new(config));
        seed::populate(&world);
        GhlSim { world }
    }

    /// The shared state, for in-process assertions and the admin API.
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// Every route, behind the gate.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(contacts::routes())
            .merge(tasks::routes())
            .merge(notes::routes())
            .merge(calendars::routes())
            .merge(oauth::routes())
            .merge(admin::routes())
            .route_layer(axum::middleware::from_fn_with_state(
                self.world.clone(),
                gate::gate,
            ))
            .fallback(unknown_route)
            .with_state(self.world.clone())
    }

    /// Listens on `addr` (port 0 picks one) and serves until `shutdown` is cancelled.
    pub async fn spawn(
        self,
        addr: SocketAddr,
        shutdown: CancellationToken,
    ) -> std::io::Result<RunningSim> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let base_url = format!("http://{local_addr}");
        webhooks_start(&self.world, &shutdown)?;
        let router = self.router();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        Ok(RunningSim {
            sim: self,
            addr: local_addr,
            base_url,
            shutdown,
            task,
        })
    }
}

/// NestJS' answer for a route that does not exist, which GHL's API gives too.
async fn unknown_route(method: http::Method, uri: http::Uri) -> error::GhlError {
    error::GhlError::NotFound(format!("Cannot {method} {}", uri.path()))
}

/// Starts signed webhook delivery until `shutdown`; fails when the signing keys cannot be loaded.
fn webhooks_start(world: &Arc<World>, shutdown: &CancellationToken) -> std::io::Result<()> {
    webhooks::start(world.clone(), shutdown.clone())
}

/// A simulator listening on a socket.
pub struct RunningSim {
    /// The simulator.
    pub sim: GhlSim,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://addr`, to use as the API base URL.
    pub base_url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningSim {
    /// Stops serving and waits for open connections to finish.
    pub async fn stop(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.task.await.map_err(std::io::Error::other)?
    }
}
