//! `POST /hooks/ghl` over loopback: signatures, limits, malformed and stale bodies, dedup and
//! backpressure, each checked against what the store holds afterwards.

use std::time::Duration;

use serde_json::json;
use tether_server::ServerConfig;

use crate::support::{
    TestServer, config, contact_event, contact_matcher, ed25519_signature, event_at, rsa_signature,
    signed,
};

#[tokio::test]
async fn a_signed_webhook_is_stored_once_with_its_runs_and_a_redelivery_is_a_duplicate() {
    let server = TestServer::default().await;
    let body = contact_event("wh-1");

    let (status, answer) = server.post_hook(&body, &signed(&body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["duplicate"], false);
    let event_id = tether_store::EventId(answer["eventId"].as_i64().unwrap());
    let event = server.store.event(event_id).await.unwrap();
    assert_eq!(event.source, "ghl.webhook");
    assert_eq!(event.event_key, "wh-1");
    assert_eq!(event.kind, "ContactCreate");
    assert_eq!(event.payload["email"], "ada@example.com");
    let run_ids = answer["runIds"].as_array().unwrap();
    assert_eq!(run_ids.len(), 1);
    let run = server
        .store
        .run(tether_store::RunId(run_ids[0].as_i64().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        (run.flow_id.as_str(), run.flow_version),
        ("contact-sync", 3)
    );
    assert_eq!(run.event_id, event_id);

    // GHL may deliver the same event again (e.g. our 200 was lost): same event, same run.
    let (status, again) = server.post_hook(&body, &signed(&body)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["eventId"], answer["eventId"]);
    assert_eq!(again["runIds"], answer["runIds"]);
    assert_eq!(server.store.run_counts().await.unwrap().queued, 1);
    server.cleanup().await;
}

#[tokio::test]
async fn rsa_alone_is_accepted_and_a_body_without_webhook_id_is_keyed_by_its_hash() {
    let server = TestServer::default().await;
    let body = br#"{"type":"NoteCreate","id":"n1","contactId":"c1"}"#;
    let headers = [("x-wh-signature", rsa_signature(body))];
    let (status, answer) = server.post_hook(body, &headers).await;
    assert_eq!(status, 200, "{answer}");
    let (status, again) = server.post_hook(body, &headers).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true);
    let event = server
        .store
        .event(tether_store::EventId(answer["eventId"].as_i64().unwrap()))
        .await
        .unwrap();
    assert!(
        event.event_key.starts_with("sha256:"),
        "{}",
        event.event_key
    );
    server.cleanup().await;
}

/// Header names and values of one request.
type Headers = Vec<(&'static str, String)>;

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_and_nothing_is_stored() {
    let server = TestServer::default().await;
    let body = contact_event("wh-bad");
    let other = contact_event("wh-other");
    let valid_rsa = ("x-wh-signature", rsa_signature(&body));

    let cases: Vec<(&str, Headers, &str)> = vec![
        (
            "no signature",
            vec![],
            "x-ghl-signature: is missing, and so is x-wh-signature",
        ),
        (
            "RSA over another body",
            vec![("x-wh-signature", rsa_signature(&other))],
            "x-wh-signature: does not verify over the body",
        ),
        (
            // Valid RSA beside a broken Ed25519 signature: no fall back.
            "Ed25519 invalid, RSA valid",
            vec![
                valid_rsa.clone(),
                ("x-ghl-signature", ed25519_signature(&other)),
            ],
            "x-ghl-signature: does not verify over the body",
        ),
        (
            "Ed25519 not base64",
            vec![valid_rsa.clone(), ("x-ghl-signature", "%%%".into())],
            "x-ghl-signature: is not base64",
        ),
    ];
    for (case, headers, message) in cases {
        let (status, answer) = server.post_hook(&body, &headers).await;
        assert_eq!(status, 401, "{case}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_signature", "{case}");
        assert_eq!(answer["error"]["message"], message, "{case}");
    }
    assert!(!server.probe_stored("wh-bad").await);
    server.cleanup().await;
}

#[tokio::test]
async fn an_oversized_body_gets_413_naming_the_limit() {
    let server = TestServer::start(
        ServerConfig {
            max_body_bytes: 1_000,
            ..config()
        },
        contact_matcher(),
    )
    .await;
    let padding = "x".repeat(2_000);
    let body =
        serde_json::to_vec(&json!({"type": "ContactCreate", "webhookId": "big", "notes": padding}))
            .unwrap();
    let (status, answer) = server.post_hook(&body, &signed(&body)).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "body exceeds the limit of 1000 bytes"
    );
    assert!(!server.probe_stored("big").await);
    server.cleanup().await;
}

#[tokio::test]
async fn malformed_untyped_and_stale_bodies_are_named() {
    let server = TestServer::default().await;

    let body = b"{\"type\": \"ContactCreate\",\n \"id\": }";
    let (status, answer) = server.post_hook(body, &signed(body)).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("malformed JSON body: expected value at line 2 column"),
        "{message}"
    );

    let body = br#"{"id":"c1","webhookId":"untyped"}"#;
    let (status, answer) = server.post_hook(body, &signed(body)).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "field `type` is missing: not a webhook event"
    );

    let old = event_at("stale", chrono::Utc::now() - chrono::Duration::minutes(6));
    let (status, answer) = server.post_hook(&old, &signed(&old)).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("stale webhook: timestamp"), "{message}");
    assert!(message.ends_with("the limit is 300 s"), "{message}");

    let future = event_at("future", chrono::Utc::now() + chrono::Duration::minutes(6));
    let (status, answer) = server.post_hook(&future, &signed(&future)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in the future")
    );

    for key in ["untyped", "stale", "future"] {
        assert!(!server.probe_stored(key).await, "{key}");
    }
    server.cleanup().await;
}

#[tokio::test]
async fn the_clock_skew_window_is_configurable() {
    let server = TestServer::start(
        ServerConfig {
            max_clock_skew: Duration::from_secs(3_600),
            ..config()
        },
        contact_matcher(),
    )
    .await;
    let body = event_at(
        "half-hour",
        chrono::Utc::now() - chrono::Duration::minutes(30),
    );
    let (status, answer) = server.post_hook(&body, &signed(&body)).await;
    assert_eq!(status, 200, "{answer}");
    server.cleanup().await;
}

#[tokio::test]
async fn when_the_engine_is_behind_webhooks_get_429_and_are_not_stored() {
    let server = TestServer::start(
        ServerConfig {
            max_pending_runs: 1,
            ..config()
        },
        contact_matcher(),
    )
    .await;
    // Each accepted ContactCreate queues one run; at two queued runs the limit of 1 is exceeded.
    for key in ["first", "second"] {
        let body = contact_event(key);
        let (status, answer) = server.post_hook(&body, &signed(&body)).await;
        assert_eq!(status, 200, "{key}: {answer}");
    }
    let body = contact_event("third");
    let (status, answer) = server.post_hook(&body, &signed(&body)).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(answer["error"]["code"], "busy");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 runs waiting")
    );
    assert_eq!(server.store.run_counts().await.unwrap().queued, 2);
    assert!(!server.probe_stored("third").await);
    server.cleanup().await;
}
