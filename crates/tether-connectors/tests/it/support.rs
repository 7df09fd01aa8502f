//! Helpers shared by the tests: a simulator on port 0, a client for it, and shortcuts into the
//! simulator's world for setup and assertions.

#![allow(dead_code, reason = "each test module uses a different subset")]

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use tether_connectors::ghl::models::{Contact, ContactInput};
use tether_connectors::ghl::{ContactId, GhlClient, LocationId};
use tether_core::Secret;
use tether_http::{ClientConfig, HttpClient, RetryConfig, StaticBearer};
use tether_sim::ghl::log::LoggedRequest;
use tether_sim::ghl::{GhlSim, GhlSimConfig, RateLimitConfig, RunningSim, World};
use tokio_util::sync::CancellationToken;

/// The private integration token every test simulator accepts.
pub const PIT: &str = "pit-connectors-test";

/// A running simulator and a client with the test PIT.
pub struct TestSim {
    pub running: RunningSim,
    pub client: GhlClient,
}

/// The default test config: the PIT, a fixed seed, no seeded contacts, rate limits off (paging
/// tests make hundreds of calls; the 429 path is tested with faults).
pub fn config() -> GhlSimConfig {
    GhlSimConfig {
        pits: vec![PIT.into()],
        rng_seed: Some(11),
        rate_limit: RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        },
        ..GhlSimConfig::default()
    }
}

impl TestSim {
    /// A simulator with [`config`].
    pub async fn start() -> TestSim {
        TestSim::with_config(config()).await
    }

    /// A simulator with `config`.
    pub async fn with_config(config: GhlSimConfig) -> TestSim {
        // tether-http turns on reqwest's `rustls-no-provider`, and the simulator builds its webhook
        // client before any of ours, so the process-wide provider is installed here first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = GhlSim::new(config)
            .spawn(addr, CancellationToken::new())
            .await
            .unwrap();
        let client = client_for(
            &running.base_url,
            PIT,
            &running.sim.world().config.location_id,
            3,
        );
        TestSim { running, client }
    }

    /// The simulator's state.
    pub fn world(&self) -> &World {
        self.running.sim.world()
    }

    /// The main location's id.
    pub fn location_id(&self) -> String {
        self.world().config.location_id.clone()
    }

    /// A client with another token and a single attempt per call (error tests want the first
    /// answer, not the retries).
    pub fn client_with_token(&self, token: &str) -> GhlClient {
        client_for(&self.running.base_url, token, &self.location_id(), 1)
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

    /// A user, campaign, workflow, business and calendar of the seeded location.
    pub fn seeded(&self) -> Seeded {
        let location = self.world().location(&self.location_id()).unwrap();
        let location = location.read();
        Seeded {
            users: location.users.clone(),
            campaigns: location.campaigns.clone(),
            workflows: location.workflows.clone(),
            businesses: location.businesses.keys().cloned().collect(),
            calendars: location
                .calendars
                .iter()
                .map(|calendar| calendar.id.clone())
                .collect(),
            custom_fields: location
                .custom_fields
                .iter()
                .map(|field| (field.id.clone(), field.key.clone(), field.data_type.clone()))
                .collect(),
        }
    }

    /// Creates a contact through the API with this e-mail.
    pub async fn contact(&self, email: &str) -> Contact {
        let input = ContactInput {
            first_name: Some("Test".into()),
            last_name: Some("Contact".into()),
            email: Some(email.into()),
            ..ContactInput::default()
        };
        self.client.contacts().create(&input).await.unwrap()
    }

    /// Whether the simulator holds this contact.
    pub fn has_contact(&self, id: &ContactId) -> bool {
        let location = self.world().location(&self.location_id()).unwrap();
        location.read().contacts.contains_key(id.as_str())
    }
}

/// Reference records of the seeded location.
pub struct Seeded {
    pub users: Vec<String>,
    pub campaigns: Vec<String>,
    pub workflows: Vec<String>,
    pub businesses: Vec<String>,
    pub calendars: Vec<String>,
    /// `(id, key, data type)`.
    pub custom_fields: Vec<(String, String, String)>,
}

/// A client for `base_url` with a static bearer `token` and no client-side rate limiter.
pub fn client_for(base_url: &str, token: &str, location_id: &str, max_attempts: u32) -> GhlClient {
    let mut config = ClientConfig::new("ghl-test", base_url.parse().unwrap());
    config.retry = RetryConfig {
        max_attempts,
        ..RetryConfig::default()
    };
    let http = HttpClient::new(config, Arc::new(StaticBearer(Secret::new(token))), None).unwrap();
    GhlClient::new(http, LocationId::new(location_id))
}

/// A logged request's header, by lowercase name.
pub fn header<'a>(request: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A logged request's body as JSON (`Null` when empty).
pub fn body(request: &LoggedRequest) -> Value {
    if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&request.body).unwrap()
    }
}

/// A logged request's query pairs, decoded.
pub fn query(request: &LoggedRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The only logged request for `operation_id` after `mark`.
pub fn only_request(sim: &TestSim, mark: u64, operation_id: &str) -> LoggedRequest {
    let mut found: Vec<LoggedRequest> = sim
        .log_since(mark)
        .into_iter()
        .filter(|request| request.operation_id.as_deref() == Some(operation_id))
        .collect();
    assert_eq!(found.len(), 1, "{operation_id}: {found:#?}");
    found.remove(0)
}
