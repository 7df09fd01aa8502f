//! The Flickr simulator (`tether sim flickr`): the REST API, upload and replace, and the OAuth 1.0a
//! flow, at Flickr's own paths on one listener, over an in-memory world of users, photos, photosets,
//! comments, contacts, favorites and galleries.
//!
//! Every request to `/services/*` is checked the way the reference (README §15) says Flickr checks
//! it: every HMAC-SHA1 signature is rebuilt from the request as the client saw it (`http://` + the
//! `Host` header + the path: the simulator serves plain HTTP on loopback, so error 95 "SSL is
//! required" is never raised) or as a client that believes it calls Flickr signed it (Flickr's
//! production URL for that endpoint and path), timestamps must be fresh, nonces are single-use, tokens carry
//! perms, writes must be POSTs and required arguments come from Flickr's reflection data
//! (`spec/flickr/methods.json`). Errors use Flickr's codes and wording. An hourly limit per
//! consumer key answers HTTP 429 with an HTML page; faults are injected on demand.
//!
//! The admin API under `/__sim/` (see [`admin`]) is never rate-limited or faulted. Choices the
//! reference leaves open are listed in `docs/decisions/0002-flickr-simulator-choices.md`.
//!
//! Build one with [`FlickrSim::new`], then serve [`FlickrSim::router`] yourself or call
//! [`FlickrSim::spawn`].

pub mod admin;
pub mod envelope;
pub mod gate;
pub mod oauth;
pub mod reflection;
pub mod request;
pub mod state;

mod authorize;
mod methods;
mod seed;
mod upload;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::any;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use state::{
    Comment, Contact, Counts, Gallery, Perms, Photo, Photoset, StateError, Tag, User, World,
};

/// The consumer (API) key the simulator accepts by default.
pub const DEFAULT_CONSUMER_KEY: &str = "sim-flickr-key";
/// The secret of [`DEFAULT_CONSUMER_KEY`].
pub const DEFAULT_CONSUMER_SECRET: &str = "sim-flickr-secret";

/// The hourly limit: at most `requests` per consumer key in any `window_ms` (sliding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimHourlyLimit {
    /// Requests allowed per window (Flickr: 3,600).
    pub requests: u32,
    /// The window in milliseconds (Flickr: one hour).
    pub window_ms: u64,
}

impl Default for SimHourlyLimit {
    fn default() -> Self {
        SimHourlyLimit {
            requests: 3_600,
            window_ms: 3_600_000,
        }
    }
}

/// Faults injected into API requests (the admin API is never affected).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimFaults {
    /// Share of API requests (`0.0..=1.0`) answered, evenly, with an HTML 502 page, an HTML 503
    /// page or Flickr's error 105 "Service currently unavailable".
    pub error_rate: f64,
    /// Latency added to every API request, in ms.
    pub latency_ms: u64,
}

/// How to build the simulator.
#[derive(Debug, Clone)]
pub struct FlickrSimConfig {
    /// Registered apps: `(consumer key, consumer secret)`.
    pub apps: Vec<(String, String)>,
    /// How many users to generate, each with photos, albums, comments and contacts.
    pub seed_users: usize,
    /// Seed of the id and data generator: the same seed gives the same ids and data.
    pub rng_seed: u64,
    /// The hourly limit per consumer key; `None` turns it off.
    pub rate_limit: Option<SimHourlyLimit>,
    /// How far `oauth_timestamp` may be from now, either way, in seconds.
    pub timestamp_window_secs: u64,
    /// How many received requests the admin API keeps (0: none).
    pub request_log_capacity: usize,
    /// Whether the authorize page approves at once, as the first user and with the perms asked,
    /// and redirects to the callback, so a standard OAuth 1.0a client runs unattended.
    pub auto_approve: bool,
}

impl Default for FlickrSimConfig {
    fn default() -> Self {
        FlickrSimConfig {
            apps: vec![(
                DEFAULT_CONSUMER_KEY.to_owned(),
                DEFAULT_CONSUMER_SECRET.to_owned(),
            )],
            seed_users: 0,
            rng_seed: 7,
            rate_limit: Some(SimHourlyLimit::default()),
            timestamp_window_secs: 600,
            request_log_capacity: 10_000,
            auto_approve: false,
        }
    }
}

/// A Flickr simulator: its world and its routes.
#[derive(Clone)]
pub struct FlickrSim {
    world: Arc<World>,
}

impl FlickrSim {
    /// Builds the world and seeds it.
    pub fn new(config: FlickrSimConfig) -> Self {
        let world = World::new(config);
        seed::populate(&world);
        FlickrSim {
            world: Arc::new(world),
        }
    }

    /// The shared state, for in-process setup and assertions.
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// Flickr's paths and the admin API.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/services/rest", any(gate::rest))
            .route("/services/rest/", any(gate::rest))
            .route("/services/upload", any(upload::upload))
            .route("/services/upload/", any(upload::upload))
            .route("/services/replace", any(upload::replace))
            .route("/services/replace/", any(upload::replace))
            .route(
                "/services/oauth/request_token",
                any(authorize::request_token),
            )
            .route("/services/oauth/authorize", any(authorize::authorize))
            .route("/services/oauth/access_token", any(authorize::access_token))
            .merge(admin::routes())
            .fallback(gate::not_found)
            .with_state(self.world.clone())
    }

    /// Listens on `addr` (port 0 picks one) and serves until `shutdown` is cancelled.
    pub async fn spawn(
        self,
        addr: SocketAddr,
        shutdown: CancellationToken,
    ) -> std::io::Result<RunningFlickrSim> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let router = self.router();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        Ok(RunningFlickrSim {
            sim: self,
            addr: local_addr,
            base_url: format!("http://{local_addr}"),
            shutdown,
            task,
        })
    }
}

/// A simulator listening on a socket.
pub struct RunningFlickrSim {
    /// The simulator.
    pub sim: FlickrSim,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://addr`: the REST endpoint is `{base_url}/services/rest`.
    pub base_url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningFlickrSim {
    /// Stops serving and waits for open connections to finish.
    pub async fn stop(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.task.await.map_err(std::io::Error::other)?
    }
}
