//! Helpers of the Flickr tests: a Flickr simulator on port 0 with one user, clients signed with
//! that user's token, and shortcuts into the simulator's world and request log.

#![allow(dead_code, reason = "each test module uses a different subset")]

use std::net::SocketAddr;
use std::sync::Arc;

use tether_connectors::auth::oauth1::{Consumer, OAuth1Credentials, TokenPair};
use tether_connectors::flickr::{FlickrClient, FlickrEndpoints, UserId};
use tether_core::Secret;
use tether_http::{ClientConfig, HttpClient, RetryConfig, WindowLimiter};
use tether_sim::flickr::{
    DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FlickrSim, FlickrSimConfig, Perms,
    RunningFlickrSim, World,
};
use tether_sim::ghl::log::LoggedRequest;
use tokio_util::sync::CancellationToken;
use url::Url;

/// A running simulator, its user and a client acting for that user with `write` permission.
pub struct FlickrTest {
    pub running: RunningFlickrSim,
    /// The user's NSID.
    pub user: String,
    /// The user's access token and secret.
    pub token: (String, String),
    pub client: FlickrClient,
}

/// The default test config: no hourly limit (paging tests make many calls; the 429 path sets
/// one), no seeded users.
pub fn config() -> FlickrSimConfig {
    FlickrSimConfig {
        rate_limit: None,
        ..FlickrSimConfig::default()
    }
}

impl FlickrTest {
    /// A simulator with [`config`] and a `write` token.
    pub async fn start() -> FlickrTest {
        FlickrTest::with_config(config()).await
    }

    /// A simulator with `config` and a `write` token.
    pub async fn with_config(config: FlickrSimConfig) -> FlickrTest {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = FlickrSim::new(config)
            .spawn(addr, CancellationToken::new())
            .await
            .unwrap();
        let world = running.sim.world().clone();
        let user = world.add_user("tess", "Tess Tether", Some("tess@example.com"));
        let token = world.mint_access_token(DEFAULT_CONSUMER_KEY, &user, Perms::Write);
        let client = client_for(
            &running.base_url,
            DEFAULT_CONSUMER_SECRET,
            &token.0,
            &token.1,
            3,
            None,
        )
        .with_user(UserId::new(user.clone()));
        FlickrTest {
            running,
            user,
            token,
            client,
        }
    }

    /// The simulator's state.
    pub fn world(&self) -> &World {
        self.running.sim.world()
    }

    /// The endpoints of the simulator.
    pub fn endpoints(&self) -> FlickrEndpoints {
        FlickrEndpoints::single(&Url::parse(&self.running.base_url).unwrap())
    }

    /// A client of the test user with a token of `perms`, one attempt per call.
    pub fn client_with_perms(&self, perms: Perms) -> FlickrClient {
        let (token, secret) =
            self.world()
                .mint_access_token(DEFAULT_CONSUMER_KEY, &self.user, perms);
        client_for(
            &self.running.base_url,
            DEFAULT_CONSUMER_SECRET,
            &token,
            &secret,
            1,
            None,
        )
    }

    /// A client with these keys, one attempt per call.
    pub fn client_with_keys(
        &self,
        consumer_secret: &str,
        token: &str,
        token_secret: &str,
    ) -> FlickrClient {
        client_for(
            &self.running.base_url,
            consumer_secret,
            token,
            token_secret,
            1,
            None,
        )
    }

    /// The sequence number of the last logged request, to read only what follows.
    pub fn log_mark(&self) -> u64 {
        self.world()
            .log
            .since(0)
            .last()
            .map_or(0, |request| request.seq)
    }

    /// Requests logged after `mark`.
    pub fn log_since(&self, mark: u64) -> Vec<LoggedRequest> {
        self.world().log.since(mark)
    }

    /// Uploads `n` photos as the test user (through the world, as in the browser); ids in order.
    pub fn photos(&self, n: usize, title: &str) -> Vec<String> {
        (0..n)
            .map(|idx| {
                self.world()
                    .add_photo(&self.user, &format!("{title} {idx}"), "", &[])
            })
            .collect()
    }
}

/// A client for the simulator at `base_url` with these keys, `max_attempts` per call and an
/// optional limiter.
pub fn client_for(
    base_url: &str,
    consumer_secret: &str,
    token: &str,
    token_secret: &str,
    max_attempts: u32,
    limiter: Option<Arc<WindowLimiter>>,
) -> FlickrClient {
    let endpoints = FlickrEndpoints::single(&Url::parse(base_url).unwrap());
    let mut config = ClientConfig::new("flickr-test", endpoints.rest.clone());
    config.retry = RetryConfig {
        max_attempts,
        ..RetryConfig::default()
    };
    let credentials = OAuth1Credentials::new(
        Consumer {
            key: DEFAULT_CONSUMER_KEY.into(),
            secret: Secret::new(consumer_secret),
        },
        Some(TokenPair {
            token: Secret::new(token),
            secret: Secret::new(token_secret),
        }),
    );
    let http = HttpClient::new(config, Arc::new(credentials), limiter).unwrap();
    FlickrClient::new(http, endpoints)
}

/// A logged request's header, by lowercase name.
pub fn header<'a>(request: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A logged request's parameters: its query, and its body when form-encoded.
pub fn params(request: &LoggedRequest) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(request.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if header(request, "content-type") == Some("application/x-www-form-urlencoded") {
        pairs.extend(url::form_urlencoded::parse(request.body.as_bytes()).into_owned());
    }
    pairs
}

/// A parameter of a logged request.
pub fn param(request: &LoggedRequest, name: &str) -> Option<String> {
    params(request)
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// The logged requests after `mark` that called `method`.
pub fn calls_of(test: &FlickrTest, mark: u64, method: &str) -> Vec<LoggedRequest> {
    test.log_since(mark)
        .into_iter()
        .filter(|request| param(request, "method").as_deref() == Some(method))
        .collect()
}
