//! Helpers shared by the integration tests: start a simulator on port 0, call it, check answers
//! against the official spec's schemas.

#![allow(dead_code)]

use std::net::SocketAddr;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tether_sim::ghl::ops::Dialect;
use tether_sim::ghl::{GhlSim, GhlSimConfig, RunningSim, World, spec};
use tokio_util::sync::CancellationToken;

/// The PIT every test simulator accepts.
pub const PIT: &str = "pit-test-token";
/// `Version` of the Contacts operations.
pub const CONTACTS_VERSION: &str = "2021-07-28";
/// `Version` of the Calendars operations.
pub const CALENDARS_VERSION: &str = "2021-04-15";
/// `Version` of every v3 operation (what the official Python SDK sends).
pub const V3_VERSION: &str = "v3";
/// `Version` the official Node SDK sends on every call.
pub const NODE_SDK_VERSION: &str = "2023-02-21";

/// A running simulator and a client for it.
pub struct Sim {
    pub running: RunningSim,
    pub base_url: String,
    pub http: reqwest::Client,
}

/// A config with the test PIT, a fixed seed, no seeded contacts and default limits.
pub fn config() -> GhlSimConfig {
    GhlSimConfig {
        pits: vec![PIT.into()],
        rng_seed: Some(7),
        ..GhlSimConfig::default()
    }
}

impl Sim {
    /// Starts a simulator with `config` on 127.0.0.1:0.
    pub async fn start(config: GhlSimConfig) -> Sim {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = GhlSim::new(config)
            .spawn(addr, CancellationToken::new())
            .await
            .unwrap();
        let base_url = running.base_url.clone();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Sim {
            running,
            base_url,
            http,
        }
    }

    /// Starts the default test simulator.
    pub async fn default() -> Sim {
        Sim::start(config()).await
    }

    /// The simulator's state, for setup and assertions that the API cannot express.
    pub fn world(&self) -> &World {
        self.running.sim.world()
    }

    /// The main location's id.
    pub fn location_id(&self) -> String {
        self.world().config.location_id.clone()
    }

    /// A request with the test PIT and the Contacts `Version`.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base_url, path))
            .bearer_auth(PIT)
            .header("Version", CONTACTS_VERSION)
    }

    /// Sends `request` and returns the status and the JSON body (Null when empty).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, body)
    }

    /// Calls an operation with the PIT and Contacts version; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Like [`Sim::call`], then asserts the status and that the body matches the spec's schema
    /// for `op_id` at that status.
    pub async fn call_ok(
        &self,
        op_id: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: u16,
    ) -> Value {
        let (status, answer) = self.call(method, path, body).await;
        assert_eq!(status.as_u16(), expected, "{op_id}: {answer}");
        assert_conforms(op_id, expected, &answer);
        answer
    }

    /// Like [`Sim::call_ok`] with `Version: v3`, checked against the v3 spec.
    pub async fn call_v3_ok(
        &self,
        op_id: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: u16,
    ) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base_url, path))
            .bearer_auth(PIT)
            .header("Version", V3_VERSION);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, answer) = self.send(request).await;
        assert_eq!(status.as_u16(), expected, "{op_id}: {answer}");
        assert_conforms_in(op_id, expected, Dialect::V3, &answer);
        answer
    }
}

/// Asserts that `body` matches the schema the official spec declares for `op_id` at `status`.
/// Fails when the spec declares no schema there, so a test cannot pass by checking nothing.
pub fn assert_conforms(op_id: &str, status: u16, body: &Value) {
    assert_conforms_in(op_id, status, Dialect::V2, body);
}

/// Asserts that `body` matches the schema `dialect`'s spec declares for `op_id` at `status`.
pub fn assert_conforms_in(op_id: &str, status: u16, dialect: Dialect, body: &Value) {
    let (file, schema) = spec::response_schema_for(op_id, status, dialect)
        .unwrap_or_else(|| panic!("the {dialect:?} spec declares no schema for {op_id} {status}"));
    let validator = spec::validator(file, schema);
    let problems = spec::problems(&validator, body);
    assert!(
        problems.is_empty(),
        "{op_id} {status} does not match the spec: {problems:?}\n{body:#}"
    );
}
