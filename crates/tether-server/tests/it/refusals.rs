//! Webhooks as GHL sends them from 2026-07-01 on (`x-ghl-signature` alone), and what an operator
//! sees when one is refused: a WARN line naming the reason, the header and the event type, and a
//! per-reason count in `GET /metrics`.
//!
//! The WARN lines are read from a `tracing` subscriber that is the process's global default (set
//! once) and writes each line to a buffer of the thread that logged it, when that thread asked for
//! one. `#[tokio::test]` runs the server's tasks on the test's own thread, so a test reads its own
//! lines and no other test's. A thread-scoped subscriber (`set_default`) would not do: while it is
//! the only one registered, `tracing` caches a log site's interest from whichever thread reaches
//! it first, and a test thread without a subscriber would turn the site off for everyone.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

use tether_server::ServerConfig;

use crate::support::{
    TestServer, config, contact_event, contact_matcher, ed25519_signature, rsa_signature,
};

thread_local! {
    /// Where this thread's log lines go, while a test captures them.
    static CAPTURE: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Writes to the calling thread's capture buffer, or nowhere.
struct ThreadBuffer;

impl std::io::Write for ThreadBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(buffer) = capture.borrow().as_ref() {
                buffer.lock().unwrap().extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stops capturing this thread's lines when dropped.
struct Capturing;

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

/// The WARN-and-above lines logged on this thread while the returned guard lives.
fn capture_warnings() -> (Arc<Mutex<Vec<u8>>>, Capturing) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(|| ThreadBuffer)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    let buffer = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(buffer.clone()));
    (buffer, Capturing)
}

fn lines(buffer: &Mutex<Vec<u8>>) -> Vec<String> {
    String::from_utf8(buffer.lock().unwrap().clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The samples of `GET /metrics` whose name starts with `prefix`, one per line.
async fn metrics(server: &TestServer, prefix: &str) -> Vec<String> {
    let response = server
        .http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn an_x_ghl_signature_alone_is_verified_with_the_configured_ed25519_key() {
    // `config()` trusts the simulator's test keys in place of GHL's.
    let server = TestServer::default().await;
    let body = contact_event("wh-ed25519-only");
    let (status, answer) = server
        .post_hook(&body, &[("x-ghl-signature", ed25519_signature(&body))])
        .await;
    assert_eq!(status, 200, "{answer}");
    let event = server
        .store
        .event(tether_store::EventId(answer["eventId"].as_i64().unwrap()))
        .await
        .unwrap();
    assert_eq!(event.event_key, "wh-ed25519-only");
    assert_eq!(event.kind, "ContactCreate");
    assert_eq!(
        metrics(&server, "tether_webhooks_accepted_total").await,
        ["tether_webhooks_accepted_total 1"]
    );
    server.cleanup().await;
}

#[tokio::test]
async fn by_default_x_ghl_signature_is_checked_against_ghls_key_not_skipped() {
    // GHL's own keys, as `tether serve` uses them: the simulator's signature is a valid Ed25519
    // signature by another key, so it must fail on the Ed25519 header, not on a missing RSA one.
    let server = TestServer::start(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..ServerConfig::default()
        },
        contact_matcher(),
    )
    .await;
    let body = contact_event("wh-other-key");
    let (status, answer) = server
        .post_hook(&body, &[("x-ghl-signature", ed25519_signature(&body))])
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "x-ghl-signature: does not verify over the body"
    );
    assert!(!server.probe_stored("wh-other-key").await);
    server.cleanup().await;
}

#[tokio::test]
async fn each_refused_webhook_is_logged_at_warn_and_counted_by_reason() {
    let (logs, _guard) = capture_warnings();
    let server = TestServer::default().await;
    let body = contact_event("wh-refused");
    let other = contact_event("wh-other");

    // A bad Ed25519 signature, alone.
    let (status, answer) = server
        .post_hook(&body, &[("x-ghl-signature", ed25519_signature(&other))])
        .await;
    assert_eq!(status, 401, "{answer}");
    // A bad Ed25519 signature beside a valid RSA one: no fall back to RSA.
    let (status, answer) = server
        .post_hook(
            &body,
            &[
                ("x-ghl-signature", ed25519_signature(&other)),
                ("x-wh-signature", rsa_signature(&body)),
            ],
        )
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "x-ghl-signature: does not verify over the body"
    );
    // Neither header.
    let (status, answer) = server.post_hook(&body, &[]).await;
    assert_eq!(status, 401, "{answer}");
    // A bad RSA signature alone, on a body that is not JSON.
    let (status, answer) = server
        .post_hook(b"not json", &[("x-wh-signature", rsa_signature(&other))])
        .await;
    assert_eq!(status, 401, "{answer}");
    // RSA alone still works.
    let (status, answer) = server
        .post_hook(&body, &[("x-wh-signature", rsa_signature(&body))])
        .await;
    assert_eq!(status, 200, "{answer}");

    let warnings = lines(&logs);
    let refused: Vec<&String> = warnings
        .iter()
        .filter(|line| line.contains("Webhook refused."))
        .collect();
    assert_eq!(refused.len(), 4, "{warnings:#?}");
    for line in &refused {
        assert!(line.contains(" WARN "), "{line}");
        assert!(line.contains("status=401"), "{line}");
    }
    let expect = |line: &str, parts: &[&str]| {
        for part in parts {
            assert!(line.contains(part), "{part:?} not in {line}");
        }
    };
    expect(
        refused[0],
        &[
            "reason=\"signature_invalid\"",
            "header=\"x-ghl-signature\"",
            "event_type=\"ContactCreate\"",
            "does not verify over the body",
        ],
    );
    expect(
        refused[1],
        &["reason=\"signature_invalid\"", "header=\"x-ghl-signature\""],
    );
    expect(
        refused[2],
        &[
            "reason=\"signature_missing\"",
            "header=\"x-ghl-signature\"",
            "event_type=\"ContactCreate\"",
            "and so is x-wh-signature",
        ],
    );
    expect(
        refused[3],
        &["reason=\"signature_invalid\"", "header=\"x-wh-signature\""],
    );
    // A body that is not JSON has no event type to name.
    assert!(!refused[3].contains("event_type"), "{}", refused[3]);

    assert_eq!(
        metrics(&server, "tether_webhooks_").await,
        [
            "tether_webhooks_accepted_total 1",
            "tether_webhooks_refused_total{reason=\"signature_invalid\",header=\"x-ghl-signature\"} 2",
            "tether_webhooks_refused_total{reason=\"signature_invalid\",header=\"x-wh-signature\"} 1",
            "tether_webhooks_refused_total{reason=\"signature_missing\",header=\"x-ghl-signature\"} 1",
        ]
    );
    server.cleanup().await;
}

#[tokio::test]
async fn refusals_after_the_signature_are_counted_under_their_own_reason() {
    let server = TestServer::start(
        ServerConfig {
            max_body_bytes: 1_000,
            ..config()
        },
        contact_matcher(),
    )
    .await;
    let malformed = b"{\"type\": ";
    let signed = [("x-ghl-signature", ed25519_signature(malformed))];
    assert_eq!(server.post_hook(malformed, &signed).await.0, 400);
    let big = vec![b' '; 2_000];
    assert_eq!(server.post_hook(&big, &[]).await.0, 413);
    assert_eq!(
        metrics(&server, "tether_webhooks_refused_total").await,
        [
            "tether_webhooks_refused_total{reason=\"malformed_json\"} 1",
            "tether_webhooks_refused_total{reason=\"payload_too_large\"} 1",
        ]
    );
    server.cleanup().await;
}
