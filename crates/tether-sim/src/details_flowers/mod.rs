//! The Details Flowers simulator: serves exactly the API its app manifest
//! (`apps/details-flowers.yaml`, read through [`tether_core::manifest`]) declares, generically, so
//! any manifest can be served the same way.
//!
//! What it does: API-key auth in the manifest's header (401 with a JSON error), input checked
//! against the manifest's fields (422 naming the field, unique fields enforced), create / get /
//! update (PATCH) / delete, listings paged in the manifest's style with `updated_since` /
//! `created_since` filters (inclusive, sorted by that time then id) and equality search on the
//! `search_by` fields, `created_at` / `updated_at` stamped by the service, a fixed-window rate limit
//! (429 with `Retry-After`), injected faults (error rate, latency) and a request log, both under
//! `/__sim/`, and deterministic seeding of customers.
//!
//! Build one with [`DetailsFlowersSim::new`], then serve [`DetailsFlowersSim::router`] yourself or
//! call [`DetailsFlowersSim::spawn`].

mod api;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tether_core::manifest::{self, Manifest};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::ghl::log::RequestLog;
pub use state::Records;

/// The API key the simulator accepts by default.
pub const DEFAULT_API_KEY: &str = "sim-api-key";

/// A fixed-window request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimRateLimit {
    /// Requests per window.
    pub requests: u32,
    /// The window, in milliseconds.
    pub window_ms: u64,
}

/// Faults injected into API requests (the admin API is never affected).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimFaults {
    /// Share of API requests answered 500 or 503 (evenly), `0.0..=1.0`.
    pub error_rate: f64,
    /// Latency added to every API request, in ms.
    pub latency_ms: u64,
}

/// How to build the simulator.
#[derive(Debug, Clone)]
pub struct DetailsFlowersConfig {
    /// The manifest served (the shipped Details Flowers one by default).
    pub manifest: Manifest,
    /// API keys accepted.
    pub api_keys: Vec<String>,
    /// How many customers to generate.
    pub seed_customers: usize,
    /// Seed of the data generator: same seed, same customers.
    pub rng_seed: u64,
    /// The `created_at` / `updated_at` of seeded customers (all equal, as after a bulk import).
    pub seed_time: DateTime<Utc>,
    /// The rate limit; `None` turns it off. Defaults to the manifest's.
    pub rate_limit: Option<SimRateLimit>,
    /// How many received requests the admin API keeps (0: none).
    pub request_log_capacity: usize,
}

impl Default for DetailsFlowersConfig {
    fn default() -> Self {
        // A unit test loads the embedded manifest, so this holds for every build that passed it.
        let manifest = manifest::details_flowers().expect("the shipped manifest is valid");
        DetailsFlowersConfig::for_manifest(manifest)
    }
}

impl DetailsFlowersConfig {
    /// Defaults for serving `manifest`, its rate limit included.
    pub fn for_manifest(manifest: Manifest) -> Self {
        let rate_limit = manifest.rate_limit.map(|limit| SimRateLimit {
            requests: limit.requests,
            window_ms: limit.window_secs.saturating_mul(1000),
        });
        DetailsFlowersConfig {
            manifest,
            api_keys: vec![DEFAULT_API_KEY.into()],
            seed_customers: 0,
            rng_seed: 7,
            seed_time: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
            rate_limit,
            request_log_capacity: 10_000,
        }
    }
}

/// The simulator's shared state.
pub struct World {
    /// The manifest served.
    pub manifest: Manifest,
    /// API keys accepted.
    pub api_keys: Vec<String>,
    /// The records.
    pub records: Mutex<Records>,
    /// Recent requests, for tests and the admin API.
    pub log: RequestLog,
    faults: Mutex<SimFaults>,
    limit: Mutex<Window>,
    rng: Mutex<fastrand::Rng>,
}

/// The rate limit's current window.
#[derive(Debug)]
struct Window {
    limit: Option<SimRateLimit>,
    started: Instant,
    used: u32,
}

impl Window {
    /// Counts a request; `Err(wait)` when the window is full.
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let window = Duration::from_millis(limit.window_ms);
        if now.duration_since(self.started) >= window {
            self.started = now;
            self.used = 0;
        }
        if self.used >= limit.requests {
            return Err(window.saturating_sub(now.duration_since(self.started)));
        }
        self.used += 1;
        Ok(())
    }
}

/// A Details Flowers simulator: its world and its routes.
#[derive(Clone)]
pub struct DetailsFlowersSim {
    world: Arc<World>,
}

impl DetailsFlowersSim {
    /// Builds the world and seeds it.
    pub fn new(config: DetailsFlowersConfig) -> Self {
        let mut records = Records::new(&config.manifest);
        seed(&config, &mut records);
        let world = World {
            api_keys: config.api_keys,
            records: Mutex::new(records),
            log: RequestLog::new(config.request_log_capacity),
            faults: Mutex::new(SimFaults::default()),
            limit: Mutex::new(Window {
                limit: config.rate_limit,
                started: Instant::now(),
                used: 0,
            }),
            rng: Mutex::new(fastrand::Rng::with_seed(config.rng_seed)),
            manifest: config.manifest,
        };
        DetailsFlowersSim {
            world: Arc::new(world),
        }
    }

    /// The shared state, for in-process assertions.
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// The admin routes under `/__sim/`, and every manifest route.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/__sim/requests",
                get(admin_requests).delete(admin_clear_requests),
            )
            .route("/__sim/faults", get(admin_get_faults).put(admin_set_faults))
            .route(
                "/__sim/rate-limit",
                get(admin_get_rate_limit).put(admin_set_rate_limit),
            )
            .route("/__sim/health", get(|| async { Json(json!({"ok": true})) }))
            .fallback(api::handle)
            .with_state(self.world.clone())
    }

    /// Listens on `addr` (port 0 picks one) and serves until `shutdown` is cancelled.
    pub async fn spawn(
        self,
        addr: SocketAddr,
        shutdown: CancellationToken,
    ) -> std::io::Result<RunningDetailsFlowers> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let router = self.router();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        Ok(RunningDetailsFlowers {
            sim: self,
            addr: local_addr,
            base_url: format!("http://{local_addr}"),
            shutdown,
            task,
        })
    }
}

/// A simulator listening on a socket.
pub struct RunningDetailsFlowers {
    /// The simulator.
    pub sim: DetailsFlowersSim,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://addr`, to use as the API base URL.
    pub base_url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningDetailsFlowers {
    /// Stops serving and waits for open connections to finish.
    pub async fn stop(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.task.await.map_err(std::io::Error::other)?
    }
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Bea", "Carl", "Dora", "Emil", "Flora", "Gus", "Hana", "Ivo", "June", "Kai", "Lena",
];
const LAST_NAMES: &[&str] = &[
    "Rose", "Lily", "Moss", "Fern", "Heath", "Birch", "Thorn", "Vale", "Reed", "Sage",
];

/// Seeds `config.seed_customers` customers, all stamped `config.seed_time`; nothing when the
/// manifest has no `customer` resource.
fn seed(config: &DetailsFlowersConfig, records: &mut Records) {
    let Some((idx, customer)) = config
        .manifest
        .resources
        .iter()
        .enumerate()
        .find(|(_, resource)| resource.name == "customer")
    else {
        return;
    };
    let mut rng = fastrand::Rng::with_seed(config.rng_seed);
    for n in 1..=config.seed_customers {
        let first = FIRST_NAMES[rng.usize(..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.usize(..LAST_NAMES.len())];
        let mut input = serde_json::Map::new();
        input.insert("email".into(), json!(format!("customer{n}@example.com")));
        input.insert("full_name".into(), json!(format!("{first} {last}")));
        input.insert(
            "phone".into(),
            json!(format!("+1555{:07}", rng.u32(..10_000_000))),
        );
        // Only declared fields are seeded, so a manifest without `phone` still seeds.
        input.retain(|name, _| customer.field(name).is_some());
        if let Err(error) = records.create(idx, customer, input, Some(config.seed_time)) {
            tracing::warn!(?error, "Seeding a customer failed.");
        }
    }
}

#[derive(Debug, Deserialize)]
struct Since {
    #[serde(default)]
    after: u64,
}

async fn admin_requests(
    State(world): State<Arc<World>>,
    Query(since): Query<Since>,
) -> Json<Value> {
    Json(json!({ "requests": world.log.since(since.after) }))
}

async fn admin_clear_requests(State(world): State<Arc<World>>) -> Json<Value> {
    world.log.clear();
    Json(json!({ "cleared": true }))
}

async fn admin_get_faults(State(world): State<Arc<World>>) -> Json<SimFaults> {
    Json(world.faults.lock().clone())
}

async fn admin_set_faults(
    State(world): State<Arc<World>>,
    Json(faults): Json<SimFaults>,
) -> Json<SimFaults> {
    *world.faults.lock() = faults.clone();
    Json(faults)
}

async fn admin_get_rate_limit(State(world): State<Arc<World>>) -> Json<Option<SimRateLimit>> {
    Json(world.limit.lock().limit)
}

/// Replaces the limit (`null` turns it off); a new window starts now.
async fn admin_set_rate_limit(
    State(world): State<Arc<World>>,
    Json(limit): Json<Option<SimRateLimit>>,
) -> Json<Option<SimRateLimit>> {
    let mut window = world.limit.lock();
    *window = Window {
        limit,
        started: Instant::now(),
        used: 0,
    };
    Json(limit)
}
