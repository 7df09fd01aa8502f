//! Webhook delivery over loopback: a tiny receiver records what arrives, signatures are verified
//! over the raw bytes with the published keys, and retries happen on 429 only.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use parking_lot::Mutex;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::{Value, json};
use tether_sim::ghl::webhooks::{Delivery, DeliveryState};
use tether_sim::ghl::{GhlSimConfig, OAuthApp};
use tokio_util::sync::CancellationToken;

use crate::support::{Sim, config};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Statuses to answer, in order; 200 once used up.
    script: VecDeque<u16>,
}

/// A webhook receiver on 127.0.0.1:0 that records every request.
struct Receiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
    stop: CancellationToken,
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState {
            received: Vec::new(),
            script: script.iter().copied().collect(),
        }));
        let app = Router::new()
            .route("/hook", post(record))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await
                .unwrap();
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            state,
            stop,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn record(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut state = state.lock();
    state.received.push(Received { headers, body });
    let status = state.script.pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// Polls `condition` every 10 ms until it holds; fails after 10 s.
async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn deliveries_of(sim: &Sim, webhook_id: &str) -> Vec<Delivery> {
    sim.world()
        .webhooks
        .deliveries()
        .into_iter()
        .filter(|delivery| delivery.webhook_id == webhook_id)
        .collect()
}

/// A simulator delivering to `urls`, retrying every 20 ms instead of every 10 minutes.
async fn sim_with(urls: Vec<String>) -> Sim {
    Sim::start(GhlSimConfig {
        webhook_urls: urls,
        webhook_retry_interval: Duration::from_millis(20),
        ..config()
    })
    .await
}

/// Emits an event and returns its `webhookId`.
fn emit(sim: &Sim, event_type: &str, location_id: &str, payload: Value) -> String {
    sim.world().webhooks.emit(event_type, location_id, payload);
    let events = sim.world().webhooks.events();
    events.last().unwrap()["webhookId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn events_arrive_signed_with_both_published_keys() {
    let receiver = Receiver::start(&[]).await;
    let sim = sim_with(vec![receiver.url.clone()]).await;
    let location_id = sim.location_id();
    let webhook_id = emit(
        &sim,
        "ContactCreate",
        &location_id,
        json!({"id": "contact-1", "firstName": "Zoë", "tags": ["vip"]}),
    );

    wait_for("the delivery", || !receiver.received().is_empty()).await;
    let received = &receiver.received()[0];
    assert_eq!(received.headers["content-type"], "application/json");
    let body = received.json();
    assert_eq!(body["type"], "ContactCreate");
    assert_eq!(body["locationId"], location_id.as_str());
    assert_eq!(body["id"], "contact-1");
    assert_eq!(body["firstName"], "Zoë");
    assert_eq!(body["webhookId"], webhook_id.as_str());
    assert!(
        chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok(),
        "{body}"
    );

    let (status, keys) = sim
        .send(sim.http.get(format!("{}/__sim/webhook-keys", sim.base_url)))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(keys["x-wh-signature"]["algorithm"], "RSA-SHA256");
    assert_eq!(keys["x-ghl-signature"]["algorithm"], "Ed25519");

    // x-wh-signature: RSASSA-PKCS1-v1_5 / SHA-256 over the raw body.
    let rsa_key = rsa::RsaPublicKey::from_public_key_pem(
        keys["x-wh-signature"]["publicKeyPem"].as_str().unwrap(),
    )
    .unwrap();
    let rsa_verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(rsa_key);
    let rsa_signature = BASE64
        .decode(received.headers["x-wh-signature"].as_bytes())
        .unwrap();
    let rsa_signature = rsa::pkcs1v15::Signature::try_from(rsa_signature.as_slice()).unwrap();
    rsa_verifier
        .verify(&received.body, &rsa_signature)
        .expect("x-wh-signature verifies");

    // x-ghl-signature: Ed25519 over the raw body, with the PEM and the SPKI base64 naming one key.
    let ed_key = ed25519_dalek::VerifyingKey::from_public_key_pem(
        keys["x-ghl-signature"]["publicKeyPem"].as_str().unwrap(),
    )
    .unwrap();
    let spki = BASE64
        .decode(
            keys["x-ghl-signature"]["publicKeySpkiBase64"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        ed25519_dalek::VerifyingKey::from_public_key_der(&spki).unwrap(),
        ed_key
    );
    let ed_signature = BASE64
        .decode(received.headers["x-ghl-signature"].as_bytes())
        .unwrap();
    let ed_signature = ed25519_dalek::Signature::from_slice(&ed_signature).unwrap();
    ed_key
        .verify_strict(&received.body, &ed_signature)
        .expect("x-ghl-signature verifies");

    // Neither verifies over other bytes, e.g. the body re-serialised differently.
    let reserialised = serde_json::to_vec_pretty(&body).unwrap();
    assert!(rsa_verifier.verify(&reserialised, &rsa_signature).is_err());
    assert!(ed_key.verify_strict(&reserialised, &ed_signature).is_err());

    wait_for("the delivery record", || {
        deliveries_of(&sim, &webhook_id)
            .first()
            .is_some_and(|delivery| delivery.state == DeliveryState::Delivered)
    })
    .await;
    let delivery = &deliveries_of(&sim, &webhook_id)[0];
    assert_eq!(
        (delivery.attempts, delivery.statuses.as_slice()),
        (1, &[200][..])
    );
    assert_eq!(delivery.target, receiver.url);
}

#[tokio::test]
async fn a_receiver_answering_429_twice_gets_exactly_three_deliveries() {
    let receiver = Receiver::start(&[429, 429, 200]).await;
    let sim = sim_with(vec![receiver.url.clone()]).await;
    let webhook_id = emit(
        &sim,
        "ContactUpdate",
        &sim.location_id(),
        json!({"id": "contact-1"}),
    );

    wait_for("the final delivery", || {
        deliveries_of(&sim, &webhook_id)
            .first()
            .is_some_and(|delivery| delivery.state == DeliveryState::Delivered)
    })
    .await;
    let delivery = &deliveries_of(&sim, &webhook_id)[0];
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.statuses, vec![429, 429, 200]);
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    // Every attempt carries the same bytes, so the same webhookId and signature.
    assert!(
        received
            .iter()
            .all(|attempt| attempt.body == received[0].body)
    );
    assert!(received.iter().all(
        |attempt| attempt.headers["x-ghl-signature"] == received[0].headers["x-ghl-signature"]
    ));

    // The admin API shows the same record.
    let (_, listed) = sim
        .send(sim.http.get(format!("{}/__sim/webhooks", sim.base_url)))
        .await;
    let record = listed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["webhook_id"] == webhook_id.as_str())
        .unwrap();
    assert_eq!(record["state"], "delivered");
    assert_eq!(record["attempts"], 3);
}

#[tokio::test]
async fn a_receiver_answering_500_gets_exactly_one_delivery() {
    let receiver = Receiver::start(&[500]).await;
    let sim = sim_with(vec![receiver.url.clone()]).await;
    let webhook_id = emit(
        &sim,
        "ContactDelete",
        &sim.location_id(),
        json!({"id": "contact-1"}),
    );

    wait_for("the final outcome", || {
        deliveries_of(&sim, &webhook_id)
            .first()
            .is_some_and(|delivery| delivery.state == DeliveryState::Failed)
    })
    .await;
    let delivery = &deliveries_of(&sim, &webhook_id)[0];
    assert_eq!(
        (delivery.attempts, delivery.statuses.as_slice()),
        (1, &[500][..])
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_receiver_answering_429_forever_gets_six_retries_then_nothing() {
    let receiver = Receiver::start(&[429; 10]).await;
    let sim = sim_with(vec![receiver.url.clone()]).await;
    let webhook_id = emit(
        &sim,
        "NoteCreate",
        &sim.location_id(),
        json!({"id": "note-1"}),
    );

    wait_for("the final outcome", || {
        deliveries_of(&sim, &webhook_id)
            .first()
            .is_some_and(|delivery| delivery.state == DeliveryState::Failed)
    })
    .await;
    assert_eq!(deliveries_of(&sim, &webhook_id)[0].statuses, vec![429; 7]);
    assert_eq!(receiver.received().len(), 7);
}

#[tokio::test]
async fn an_unreachable_receiver_is_final_after_one_attempt() {
    // A port that was just free: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = closed.local_addr().unwrap();
    drop(closed);
    let sim = sim_with(vec![format!("http://{addr}/hook")]).await;
    let webhook_id = emit(
        &sim,
        "TaskCreate",
        &sim.location_id(),
        json!({"id": "task-1"}),
    );

    wait_for("the final outcome", || {
        deliveries_of(&sim, &webhook_id)
            .first()
            .is_some_and(|delivery| delivery.state == DeliveryState::Failed)
    })
    .await;
    let delivery = &deliveries_of(&sim, &webhook_id)[0];
    assert_eq!(
        (delivery.attempts, delivery.statuses.as_slice()),
        (1, &[0][..])
    );
    assert!(delivery.error.is_some());
}

#[tokio::test]
async fn first_attempts_reach_a_receiver_in_emission_order() {
    let receiver = Receiver::start(&[]).await;
    let sim = sim_with(vec![receiver.url.clone()]).await;
    for n in 0..20 {
        sim.world().webhooks.emit(
            "ContactUpdate",
            &sim.location_id(),
            json!({"id": format!("contact-{n}")}),
        );
    }
    wait_for("all deliveries", || receiver.received().len() == 20).await;
    let ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..20).map(|n| format!("contact-{n}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn receivers_registered_through_the_admin_api_come_and_go() {
    let kept = Receiver::start(&[]).await;
    let removed = Receiver::start(&[]).await;
    let sim = sim_with(vec![kept.url.clone()]).await;
    let register = |url: String| {
        sim.http
            .post(format!("{}/__sim/webhooks", sim.base_url))
            .json(&json!({"url": url}))
    };

    let (status, body) = sim.send(register(removed.url.clone())).await;
    assert_eq!(
        (status, body["registered"].as_bool()),
        (reqwest::StatusCode::OK, Some(true))
    );
    let (_, body) = sim.send(register(removed.url.clone())).await;
    assert_eq!(
        body["registered"], false,
        "a second registration of one URL is a no-op"
    );
    let (status, _) = sim.send(register("https://tls.example/hook".into())).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);

    let first = emit(
        &sim,
        "ContactCreate",
        &sim.location_id(),
        json!({"id": "c1"}),
    );
    wait_for("both deliveries", || {
        kept.received().len() == 1 && removed.received().len() == 1
    })
    .await;
    assert_eq!(removed.received()[0].json()["webhookId"], first.as_str());

    let (status, _) = sim
        .send(
            sim.http
                .delete(format!("{}/__sim/webhooks", sim.base_url))
                .query(&[("url", removed.url.as_str())]),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let second = emit(
        &sim,
        "ContactCreate",
        &sim.location_id(),
        json!({"id": "c2"}),
    );
    wait_for("the kept receiver's delivery", || {
        kept.received().len() == 2
    })
    .await;
    // Deliveries of an event are all recorded before any is sent: none went to the removed URL.
    let targets: Vec<String> = deliveries_of(&sim, &second)
        .into_iter()
        .map(|delivery| delivery.target)
        .collect();
    assert_eq!(targets, vec![kept.url.clone()]);
    assert_eq!(removed.received().len(), 1);
}

#[tokio::test]
async fn an_apps_webhook_url_gets_its_installs_and_its_locations_events() {
    let generic = Receiver::start(&[]).await;
    let app_receiver = Receiver::start(&[]).await;
    let mut config = config();
    config.webhook_urls = vec![generic.url.clone()];
    config.apps = vec![
        OAuthApp {
            client_id: "app1-abc".into(),
            client_secret: "secret1".into(),
            redirect_uris: Vec::new(),
            webhook_url: Some(app_receiver.url.clone()),
        },
        OAuthApp {
            client_id: "app2-def".into(),
            client_secret: "secret2".into(),
            redirect_uris: Vec::new(),
            webhook_url: None,
        },
    ];
    let sim = Sim::start(config).await;
    let main = sim.location_id();
    let other = sim
        .world()
        .locations
        .read()
        .keys()
        .find(|id| **id != main)
        .cloned()
        .unwrap();

    // Install app1 on the main location: code, then exchange.
    let response = sim
        .http
        .get(format!("{}/oauth/chooselocation", sim.base_url))
        .query(&[
            ("response_type", "code"),
            ("client_id", "app1-abc"),
            ("redirect_uri", "http://localhost:9/cb"),
            ("scope", "contacts.readonly"),
            ("location_id", main.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, _) = sim
        .send(
            sim.http
                .post(format!("{}/oauth/token", sim.base_url))
                .form(&[
                    ("client_id", "app1-abc"),
                    ("client_secret", "secret1"),
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                ]),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    wait_for("the INSTALL", || app_receiver.received().len() == 1).await;
    let install = app_receiver.received()[0].json();
    assert_eq!(
        (install["type"].as_str(), install["appId"].as_str()),
        (Some("INSTALL"), Some("app1"))
    );

    // app2's lifecycle events are not app1's business; the generic receiver gets everything.
    let app2_event = emit(
        &sim,
        "UNINSTALL",
        "",
        json!({"appId": "app2", "companyId": "co"}),
    );
    let installed = emit(&sim, "ContactCreate", &main, json!({"id": "c-main"}));
    let elsewhere = emit(&sim, "ContactCreate", &other, json!({"id": "c-other"}));
    wait_for("the generic receiver's deliveries", || {
        generic.received().len() == 4
    })
    .await;
    wait_for("app1's delivery", || app_receiver.received().len() == 2).await;
    assert_eq!(
        app_receiver.received()[1].json()["webhookId"],
        installed.as_str()
    );
    for not_app1 in [app2_event, elsewhere] {
        let targets: Vec<String> = deliveries_of(&sim, &not_app1)
            .into_iter()
            .map(|delivery| delivery.target)
            .collect();
        assert_eq!(targets, vec![generic.url.clone()]);
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_once_and_is_final() {
    // Accepts connections and never answers, holding them open until the test ends.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let sim = Sim::start(GhlSimConfig {
        webhook_urls: vec![format!("http://{addr}/hook")],
        webhook_timeout: Duration::from_millis(200),
        webhook_retry_interval: Duration::from_millis(20),
        ..config()
    })
    .await;
    let started = std::time::Instant::now();
    let webhook_id = emit(
        &sim,
        "ContactCreate",
        &sim.location_id(),
        json!({"id": "c1"}),
    );

    wait_for("the final outcome", || {
        deliveries_of(&sim, &webhook_id)
            .first()
            .is_some_and(|delivery| delivery.state == DeliveryState::Failed)
    })
    .await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    let delivery = &deliveries_of(&sim, &webhook_id)[0];
    assert_eq!(
        (delivery.attempts, delivery.statuses.as_slice()),
        (1, &[0][..])
    );
    assert!(
        delivery
            .error
            .as_deref()
            .is_some_and(|error| error.contains("timed out")),
        "{delivery:?}"
    );
    holder.abort();
}
