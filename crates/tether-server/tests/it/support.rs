//! Helpers: a server on port 0 over a fresh SQLite store, bodies signed with the simulator's
//! private keys, and polling with a timeout instead of sleeping.

#![allow(
    dead_code,
    reason = "each test module uses a different subset of the helpers"
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use tether_server::{FlowMatcher, RunningServer, ServerConfig, serve};
use tether_store::{Store, Vault};
use tokio_util::sync::CancellationToken;

/// The simulator's key folder (test keys, public on purpose).
pub fn sim_key(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tether-sim/keys/");
    std::fs::read_to_string(format!("{path}{name}")).unwrap()
}

/// A config on 127.0.0.1:0 trusting the simulator's public keys, with no backpressure cache so
/// each request sees the current run count.
pub fn config() -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ghl_rsa_public_key_pem: Some(sim_key("ghl-webhook-rsa.pub.pem")),
        ghl_ed25519_public_key_pem: Some(sim_key("ghl-webhook-ed25519.pub.pem")),
        backpressure_refresh: Duration::ZERO,
        ..ServerConfig::default()
    }
}

/// Starts flows `contact-sync` v3 for every `ContactCreate`, nothing for other events.
pub fn contact_matcher() -> Arc<dyn FlowMatcher> {
    Arc::new(|kind: &str, _payload: &Value| {
        if kind == "ContactCreate" {
            vec![("contact-sync".to_owned(), 3)]
        } else {
            Vec::new()
        }
    })
}

/// A server, its store and a client.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub store: Store,
    pub url: String,
    pub http: reqwest::Client,
    path: PathBuf,
}

impl TestServer {
    /// Starts a server with `config` and `matcher` on a new SQLite file.
    pub async fn start(config: ServerConfig, matcher: Arc<dyn FlowMatcher>) -> TestServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let path = std::env::temp_dir().join(format!(
            "tether_server_test_{}_{}.sqlite",
            std::process::id(),
            fastrand::u64(..)
        ));
        let store = Store::open_sqlite(&path, Vault::from_key(&[1; 32]))
            .await
            .unwrap();
        let server = serve(config, store.clone(), matcher, CancellationToken::new())
            .await
            .unwrap();
        let url = server.base_url.clone();
        TestServer {
            server: Some(server),
            store,
            url,
            http: reqwest::Client::new(),
            path,
        }
    }

    /// The default test server.
    pub async fn default() -> TestServer {
        TestServer::start(config(), contact_matcher()).await
    }

    /// POSTs `body` to `/hooks/ghl` with `headers`; answers the status and the JSON body.
    pub async fn post_hook(&self, body: &[u8], headers: &[(&str, String)]) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/hooks/ghl", self.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Whether an event with this key is stored: probing records it when it is not, so call
    /// this last.
    pub async fn probe_stored(&self, event_key: &str) -> bool {
        let inserted = self
            .store
            .record_event("ghl.webhook", event_key, "probe", &Value::Null, 0)
            .await
            .unwrap();
        matches!(inserted, tether_store::EventInsert::Duplicate(_))
    }

    /// Stops the server and removes the store's files.
    pub async fn cleanup(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
        self.store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

/// Both signatures of `body`, as the simulator would send them.
pub fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("x-wh-signature", rsa_signature(body)),
        ("x-ghl-signature", ed25519_signature(body)),
    ]
}

/// `x-wh-signature` of `body` with the simulator's RSA key.
pub fn rsa_signature(body: &[u8]) -> String {
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&sim_key("ghl-webhook-rsa.pem")).unwrap();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
    BASE64.encode(signer.sign(body).to_bytes())
}

/// `x-ghl-signature` of `body` with the simulator's Ed25519 key.
pub fn ed25519_signature(body: &[u8]) -> String {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    let key =
        ed25519_dalek::SigningKey::from_pkcs8_pem(&sim_key("ghl-webhook-ed25519.pem")).unwrap();
    BASE64.encode(ed25519_dalek::Signer::sign(&key, body).to_bytes())
}

/// A ContactCreate body stamped now.
pub fn contact_event(webhook_id: &str) -> Vec<u8> {
    event_at(webhook_id, chrono::Utc::now())
}

/// A ContactCreate body with this timestamp.
pub fn event_at(webhook_id: &str, at: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": "ContactCreate",
        "locationId": "ve9EPM428h8vShlRW1KT",
        "id": "contact1",
        "email": "ada@example.com",
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "webhookId": webhook_id,
    }))
    .unwrap()
}

/// Polls `condition` every 20 ms until it answers `Some`; fails after 15 s.
pub async fn wait_for<T, F, Fut>(what: &str, mut condition: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = condition().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The committed OpenAPI document.
pub const OPENAPI_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

/// The e-mail address of the owner every [`ApiHarness`] creates.
pub const OWNER_EMAIL: &str = "owner@tether.test";
/// That owner's password.
pub const OWNER_PASSWORD: &str = "correct horse battery staple";

/// A server over the service layer, for `/api/v1` tests: a fresh SQLite store, the connectors'
/// registry, an empty flow set, an owner ([`OWNER_EMAIL`], [`OWNER_PASSWORD`]) with an API
/// token, and `http`, a client that sends that token (`Authorization: Bearer …`) with every
/// request. [`ApiHarness::browser`] signs in like a browser instead. Use `reqwest::Client::new()`
/// for an anonymous caller.
pub struct ApiHarness {
    /// The server (`None` once stopped).
    pub server: Option<RunningServer>,
    /// The service the server runs on, for arranging state directly.
    pub service: tether_service::Service,
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// A client sending the owner's API token with every request.
    pub http: reqwest::Client,
    /// The owner's API token (`tth_…`).
    pub token: String,
    /// The owner (`None` for [`ApiHarness::start_unowned`]).
    pub owner: Option<tether_service::accounts::UserInfo>,
    path: PathBuf,
}

impl ApiHarness {
    /// Starts a Details Flowers simulator (no rate limit, `seed_customers` customers) and stores
    /// a connection `name` to it with the simulator's key, untested and with Tether's own rate
    /// limit off, as the tests that run flows or operations against it need.
    pub async fn connect_details_flowers(
        &self,
        name: &str,
        seed_customers: usize,
    ) -> tether_sim::details_flowers::RunningDetailsFlowers {
        use tether_sim::details_flowers::{DetailsFlowersConfig, DetailsFlowersSim};
        let flowers = DetailsFlowersSim::new(DetailsFlowersConfig {
            rate_limit: None,
            seed_customers,
            ..DetailsFlowersConfig::default()
        })
        .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
        .await
        .unwrap();
        let store = self.service.store();
        store
            .create_connection(tether_store::NewConnection {
                name: name.into(),
                app: "details_flowers".into(),
                auth_kind: tether_store::AuthKind::ApiKey,
                account_id: None,
                base_url: flowers.base_url.clone(),
                scopes: Vec::new(),
                credentials: tether_core::Secret::new(tether_sim::details_flowers::DEFAULT_API_KEY),
                expires_at_ms: None,
            })
            .await
            .unwrap();
        store
            .set_connection_settings(name, &serde_json::json!({"rate_limit": "off"}))
            .await
            .unwrap();
        flowers
    }

    /// Starts a server with the default [`tether_service::Settings`].
    pub async fn start() -> ApiHarness {
        ApiHarness::start_with(tether_service::Settings::default()).await
    }

    /// Starts a server whose service has `settings`.
    pub async fn start_with(settings: tether_service::Settings) -> ApiHarness {
        ApiHarness::launch(settings, true).await
    }

    /// Starts a server on a store with no user at all (first start: setup is needed); `http`
    /// then sends no credentials.
    pub async fn start_unowned() -> ApiHarness {
        ApiHarness::launch(tether_service::Settings::default(), false).await
    }

    async fn launch(settings: tether_service::Settings, with_owner: bool) -> ApiHarness {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let path = std::env::temp_dir().join(format!(
            "tether_api_test_{}_{}.sqlite",
            std::process::id(),
            fastrand::u64(..)
        ));
        let store = Store::open_sqlite(&path, Vault::from_key(&[1; 32]))
            .await
            .unwrap();
        let ops: Arc<dyn tether_engine::invoke::Operations> =
            Arc::new(tether_connectors::registry::Registry::new(store.clone()));
        let service = tether_service::Service::new(
            store,
            ops,
            tether_engine::executor::FlowSet::new(),
            settings,
        );
        let mut headers = reqwest::header::HeaderMap::new();
        let (owner, token) = if with_owner {
            let owner = service
                .create_account(tether_service::accounts::NewAccount {
                    email: OWNER_EMAIL.to_owned(),
                    password: OWNER_PASSWORD.to_owned(),
                    display_name: Some("Owner".to_owned()),
                    role: tether_store::Role::Owner,
                })
                .await
                .unwrap();
            let token = service
                .create_token(&owner.id, "harness")
                .await
                .unwrap()
                .token;
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
            (Some(owner), token)
        } else {
            (None, String::new())
        };
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        // Webhooks start the flows the service runs, as in `tether serve`.
        let flows = service.flows().clone();
        let matcher = move |kind: &str, _payload: &Value| {
            tether_engine::worker::starts(&flows, tether_server::webhooks::SOURCE, kind)
        };
        let server = tether_server::serve_with(
            config(),
            service.clone(),
            Arc::new(matcher),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        let base = server.base_url.clone();
        ApiHarness {
            server: Some(server),
            service,
            base,
            http,
            token,
            owner,
            path,
        }
    }

    /// A client that behaves like a browser on this server's own page: it keeps cookies, sends
    /// `Origin` and `Sec-Fetch-Site: same-origin`, and is signed in as the owner through
    /// `POST /auth/login`.
    pub async fn browser(&self) -> reqwest::Client {
        let browser = self.browser_with(&self.base, "same-origin");
        let answer = browser
            .post(self.url("/auth/login"))
            .json(&serde_json::json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
        browser
    }

    /// A cookie-keeping client sending `Origin: origin` and `Sec-Fetch-Site: site`, not signed
    /// in.
    pub fn browser_with(&self, origin: &str, site: &str) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ORIGIN, origin.parse().unwrap());
        headers.insert("sec-fetch-site", site.parse().unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .unwrap()
    }

    /// The full URL of `path` under `/api/v1` (`url("/flows")`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// Stops the server and removes the store's files.
    pub async fn cleanup(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
        self.service.store().close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}
