//! OAuth 2.0 connections against the GHL simulator: the code flow end to end, one refresh for
//! many callers (in one process and across two), a crash after refresh, revocation, and tokens
//! kept out of logs.

use std::sync::Arc;

use tether_connectors::auth::ghl::{
    GhlOAuthApp, StoredOAuth, authorize_url, exchange_code, expires_at_ms, token_client,
};
use tether_connectors::auth::{RefreshingBearer, ghl::GhlRefresher};
use tether_connectors::registry::Registry;
use tether_core::Secret;
use tether_http::Credentials;
use tether_sim::ghl::{GhlSim, GhlSimConfig, RunningSim};
use tether_store::{AuthKind, ConnectionStatus, NewConnection, Store, Vault};
use tokio_util::sync::CancellationToken;
use url::Url;

struct Setup {
    sim: RunningSim,
    store: Store,
    db_path: std::path::PathBuf,
    app: GhlOAuthApp,
    contact_id: String,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.db_path);
    }
}

async fn setup() -> Setup {
    let config = GhlSimConfig {
        seed_contacts: 5,
        rng_seed: Some(11),
        ..GhlSimConfig::default()
    };
    let sim = GhlSim::new(config)
        .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
        .await
        .unwrap();
    let db_path = std::env::temp_dir().join(format!(
        "tether-oauth-{}-{}.sqlite",
        std::process::id(),
        fastrand::u64(..)
    ));
    let store = Store::open_sqlite(&db_path, Vault::from_key(&[9; 32]))
        .await
        .unwrap();
    let base = Url::parse(&sim.base_url).unwrap();
    let app = GhlOAuthApp {
        client_id: "sim-client-id".into(),
        client_secret: Secret::new("sim-client-secret"),
        authorize_base: base.clone(),
        api_base: base,
        redirect_uri: "http://127.0.0.1:9/callback".into(),
        scopes: vec!["contacts.readonly".into(), "contacts.write".into()],
    };
    let contact_id = {
        let world = sim.sim.world();
        let location = world.location(&world.config.location_id).unwrap();
        let location = location.read();
        location.contacts.keys().next().unwrap().clone()
    };
    Setup {
        sim,
        store,
        db_path,
        app,
        contact_id,
    }
}

/// Runs the authorization-code flow against the simulator (auto-approving the main location) and
/// stores the connection as `name`.
async fn connect(setup: &Setup, name: &str) {
    let location_id = setup.sim.sim.world().config.location_id.clone();
    let url = authorize_url(&setup.app, "state-123", &[("location_id", &location_id)]);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "state-123", "the state comes back");
    let http = token_client(&setup.app.api_base).unwrap();
    let tokens = exchange_code(&http, &setup.app, &query["code"], "Location")
        .await
        .unwrap();
    assert_eq!(tokens.location_id.as_deref(), Some(location_id.as_str()));
    let stored = StoredOAuth::from_response(&tokens, &setup.app, None);
    setup
        .store
        .create_connection(NewConnection {
            name: name.into(),
            app: "ghl".into(),
            auth_kind: AuthKind::OAuth2,
            account_id: Some(location_id),
            base_url: setup.sim.base_url.clone(),
            scopes: setup.app.scopes.clone(),
            credentials: stored.to_secret(),
            expires_at_ms: expires_at_ms(&tokens),
        })
        .await
        .unwrap();
}

/// Marks the stored access token as expired, so the next call refreshes first.
async fn expire_locally(store: &Store, name: &str) {
    let connection = store.connection(name).await.unwrap();
    assert!(
        store
            .update_credentials(
                &connection.id,
                connection.version,
                &connection.credentials,
                Some(0)
            )
            .await
            .unwrap()
    );
}

fn refreshes_seen(setup: &Setup) -> usize {
    setup
        .sim
        .sim
        .world()
        .log
        .since(0)
        .iter()
        .filter(|request| {
            request.path == "/oauth/token" && request.body.contains("grant_type=refresh_token")
        })
        .count()
}

#[tokio::test]
async fn the_code_flow_ends_in_a_working_connection() {
    let setup = setup().await;
    connect(&setup, "main").await;
    let client = Registry::new(setup.store.clone())
        .ghl("main")
        .await
        .unwrap();
    let contact = client
        .contacts()
        .get(&setup.contact_id.as_str().into())
        .await
        .unwrap();
    assert_eq!(contact.id.as_str(), setup.contact_id);
}

#[tokio::test]
async fn fifty_callers_on_an_expired_token_cause_exactly_one_refresh() {
    let setup = setup().await;
    connect(&setup, "main").await;
    expire_locally(&setup.store, "main").await;
    let registry = Registry::new(setup.store.clone());
    let mut clients = Vec::new();
    for _ in 0..50 {
        clients.push(registry.ghl("main").await.unwrap());
    }
    get_concurrently(clients, &setup.contact_id).await;
    assert_eq!(refreshes_seen(&setup), 1);
    assert_eq!(
        setup.store.connection("main").await.unwrap().version,
        3,
        "created, expired by the test, refreshed once"
    );
}

#[tokio::test]
async fn a_token_the_service_expired_is_refreshed_once_on_401() {
    let setup = setup().await;
    connect(&setup, "main").await;
    let registry = Registry::new(setup.store.clone());
    let client = registry.ghl("main").await.unwrap();
    client
        .contacts()
        .get(&setup.contact_id.as_str().into())
        .await
        .unwrap();
    // The service's clock moves past the token's life; ours still thinks it is valid.
    setup.sim.sim.world().advance_clock_ms(2 * 86_400_000);
    get_concurrently(vec![client; 20], &setup.contact_id).await;
    assert_eq!(refreshes_seen(&setup), 1);
}

#[tokio::test]
async fn two_processes_sharing_the_store_refresh_once() {
    let setup = setup().await;
    connect(&setup, "main").await;
    expire_locally(&setup.store, "main").await;
    // A second Store on the same file stands for a second process: no shared memory at all.
    let other_store = Store::open_sqlite(&setup.db_path, Vault::from_key(&[9; 32]))
        .await
        .unwrap();
    let (first, second) = (
        Registry::new(setup.store.clone()),
        Registry::new(other_store),
    );
    let mut clients = Vec::new();
    for idx in 0..20 {
        clients.push(if idx % 2 == 0 {
            first.ghl("main").await.unwrap()
        } else {
            second.ghl("main").await.unwrap()
        });
    }
    get_concurrently(clients, &setup.contact_id).await;
    assert_eq!(refreshes_seen(&setup), 1);
}

#[tokio::test]
async fn a_crash_after_refresh_leaves_a_usable_connection() {
    let setup = setup().await;
    connect(&setup, "main").await;
    let before =
        StoredOAuth::from_secret(&setup.store.connection("main").await.unwrap().credentials)
            .unwrap();
    {
        // Refresh, then "crash": the new access token is never used by this bearer.
        let connection = setup.store.connection("main").await.unwrap();
        let bearer = RefreshingBearer::new(
            setup.store.clone(),
            &connection,
            Box::new(GhlRefresher),
            std::time::Duration::from_secs(60),
        );
        let mut refused = http::HeaderMap::new();
        refused.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {}", before.access_token.expose())
                .parse()
                .unwrap(),
        );
        assert!(bearer.refresh(&refused).await.unwrap());
        assert_eq!(bearer.refreshes(), 1);
    }
    // The old refresh token is spent at the service…
    let http = token_client(&setup.app.api_base).unwrap();
    let spent = tether_connectors::auth::ghl::refresh(&http, &before)
        .await
        .unwrap_err();
    assert_eq!(spent.status(), Some(400), "{spent}");
    // …and a restarted process finds the rotated one and works without refreshing again.
    let client = Registry::new(setup.store.clone())
        .ghl("main")
        .await
        .unwrap();
    client
        .contacts()
        .get(&setup.contact_id.as_str().into())
        .await
        .unwrap();
    assert_eq!(
        refreshes_seen(&setup),
        2,
        "one by the crashed bearer, one by the spent-token probe"
    );
}

#[tokio::test]
async fn a_revoked_connection_needs_reauthorization_and_says_so() {
    let setup = setup().await;
    connect(&setup, "main").await;
    let world = setup.sim.sim.world();
    world
        .tokens
        .revoke_app("sim-client-id", &world.config.location_id);
    expire_locally(&setup.store, "main").await;
    let client = Registry::new(setup.store.clone())
        .ghl("main")
        .await
        .unwrap();
    let error = client
        .contacts()
        .get(&setup.contact_id.as_str().into())
        .await
        .unwrap_err();
    let message = error.to_string() + &format!("{:?}", error);
    assert!(
        message.contains("reconnect") || message.contains("tether connect"),
        "{message}"
    );
    let stored = setup.store.connection("main").await.unwrap();
    assert_eq!(stored.status, ConnectionStatus::RefreshFailed);
    assert!(stored.status_message.unwrap().contains("refresh token"));
    // Later calls fail fast, without spending anything at the token endpoint.
    let n_refreshes = refreshes_seen(&setup);
    let client = Registry::new(setup.store.clone())
        .ghl("main")
        .await
        .unwrap();
    assert!(
        client
            .contacts()
            .get(&setup.contact_id.as_str().into())
            .await
            .is_err()
    );
    assert_eq!(refreshes_seen(&setup), n_refreshes);
}

#[tokio::test]
async fn tokens_never_reach_the_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    let buffer = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = {
        let buffer = buffer.clone();
        move || LogWriter(buffer.clone())
    };
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false)
            .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
    );
    // Process-wide, because a thread-local subscriber races tracing's global callsite-interest
    // cache when other tests run in parallel. It is the only subscriber this test binary installs,
    // so it also scans every other test's logs for the secrets, which is no harm.
    tracing::subscriber::set_global_default(subscriber)
        .expect("no other test installs a subscriber");
    let setup = setup().await;
    connect(&setup, "main").await;
    expire_locally(&setup.store, "main").await;
    let client = Registry::new(setup.store.clone())
        .ghl("main")
        .await
        .unwrap();
    client
        .contacts()
        .get(&setup.contact_id.as_str().into())
        .await
        .unwrap();
    let _ = client.contacts().get(&"NoSuchContact0000000".into()).await;
    let stored =
        StoredOAuth::from_secret(&setup.store.connection("main").await.unwrap().credentials)
            .unwrap();
    let logs = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("Access token refreshed"),
        "the refresh is logged: {logs}"
    );
    for secret in [
        stored.access_token.expose(),
        stored.refresh_token.as_ref().unwrap().expose(),
        "sim-client-secret",
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

use tracing_subscriber::Layer as _;

struct LogWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_agency_token_mints_working_location_tokens() {
    let setup = setup().await;
    let world = setup.sim.sim.world();
    let (company_id, location_id) = (
        world.config.company_id.clone(),
        world.config.location_id.clone(),
    );
    // Minting location tokens needs the agency scope `oauth.write` (spec: Agency-Access-Only).
    let mut app = setup.app.clone();
    app.scopes
        .extend(["oauth.readonly".to_owned(), "oauth.write".to_owned()]);
    let url = authorize_url(
        &app,
        "state-agency",
        &[("user_type", "Company"), ("company_id", &company_id)],
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302, "{:?}", answer.text().await);
    let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(key, _)| key == "code")
        .unwrap()
        .1
        .into_owned();
    let http = token_client(&setup.app.api_base).unwrap();
    let agency = exchange_code(&http, &app, &code, "Company").await.unwrap();
    assert_eq!(agency.user_type.as_deref(), Some("Company"));
    assert_eq!(agency.company_id.as_deref(), Some(company_id.as_str()));

    let minted = tether_connectors::auth::ghl::location_token(
        &setup.app.api_base,
        &agency.access_token,
        &company_id,
        &location_id,
    )
    .await
    .unwrap();
    assert_eq!(minted.location_id.as_deref(), Some(location_id.as_str()));
    let client = tether_connectors::ghl::GhlClient::with_token(
        &setup.sim.base_url,
        minted.access_token,
        location_id.as_str().into(),
    )
    .unwrap();
    let contact = client
        .contacts()
        .get(&setup.contact_id.as_str().into())
        .await
        .unwrap();
    assert_eq!(contact.id.as_str(), setup.contact_id);

    // The agency token itself is refused on location routes, as the spec's security says.
    let agency_client = tether_connectors::ghl::GhlClient::with_token(
        &setup.sim.base_url,
        agency.access_token,
        location_id.as_str().into(),
    )
    .unwrap();
    let refused = agency_client
        .contacts()
        .get(&setup.contact_id.as_str().into())
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), tether_core::ErrorKind::Auth, "{refused}");
}

/// Each client gets the contact at the same time; every call must succeed.
async fn get_concurrently(clients: Vec<tether_connectors::ghl::GhlClient>, contact_id: &str) {
    let mut callers = tokio::task::JoinSet::new();
    for client in clients {
        let contact_id = contact_id.to_owned();
        callers.spawn(async move {
            client
                .contacts()
                .get(&contact_id.as_str().into())
                .await
                .map(|contact| contact.id)
        });
    }
    while let Some(result) = callers.join_next().await {
        result.unwrap().unwrap();
    }
}
