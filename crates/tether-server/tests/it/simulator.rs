//! End to end with the GHL simulator: a contact created through its API reaches the server as a
//! signed webhook and is stored, verified with the keys the simulator publishes.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_server::ServerConfig;
use tether_sim::ghl::webhooks::SigningKeys;
use tether_sim::ghl::{GhlSim, GhlSimConfig};
use tether_store::EventId;
use tokio_util::sync::CancellationToken;

use crate::support::{TestServer, config, contact_matcher, wait_for};

const PIT: &str = "pit-server-test";

#[tokio::test]
async fn a_contact_created_in_the_simulator_arrives_as_a_verified_stored_event() {
    // The keys `GET /__sim/webhook-keys` publishes; the server starts first so the simulator
    // can be configured with its URL.
    let published = SigningKeys::builtin().unwrap().published();
    let pem = |header: &str| {
        published[header]["publicKeyPem"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let server = TestServer::start(
        ServerConfig {
            ghl_rsa_public_key_pem: Some(pem("x-wh-signature")),
            ghl_ed25519_public_key_pem: Some(pem("x-ghl-signature")),
            ..config()
        },
        contact_matcher(),
    )
    .await;
    let sim = GhlSim::new(GhlSimConfig {
        pits: vec![PIT.into()],
        webhook_urls: vec![format!("{}/hooks/ghl", server.url)],
        ..GhlSimConfig::default()
    })
    .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let served_keys: Value = http
        .get(format!("{}/__sim/webhook-keys", sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served_keys, published);

    let location_id = sim.sim.world().config.location_id.clone();
    let response = http
        .post(format!("{}/contacts/", sim.base_url))
        .bearer_auth(PIT)
        .header("Version", "2021-07-28")
        .json(&json!({"locationId": location_id, "firstName": "Ada", "email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let contact_id = created["contact"]["id"].as_str().unwrap().to_owned();

    // The matcher queues one run per ContactCreate in the event's transaction, so a run in the
    // store means its event is there too.
    let store = server.store.clone();
    let run = wait_for("the ContactCreate run", || {
        let store = store.clone();
        async move { store.runs_recent(1).await.unwrap().into_iter().next() }
    })
    .await;
    let event = server
        .store
        .event(EventId(run.run.event_id.0))
        .await
        .unwrap();
    assert_eq!(event.kind, "ContactCreate");
    assert_eq!(event.payload["id"], contact_id.as_str());
    assert_eq!(event.payload["email"], "ada@example.com");
    assert_eq!(
        event.event_key,
        event.payload["webhookId"].as_str().unwrap()
    );

    // The simulator saw a 200, so it will not redeliver.
    let world = Arc::clone(sim.sim.world());
    let delivered = wait_for("the delivery record", || {
        let world = world.clone();
        async move {
            world.webhooks.deliveries().into_iter().find(|delivery| {
                delivery.state != tether_sim::ghl::webhooks::DeliveryState::Pending
            })
        }
    })
    .await;
    assert_eq!(delivered.statuses, vec![200]);
    sim.stop().await.unwrap();
    server.cleanup().await;
}
