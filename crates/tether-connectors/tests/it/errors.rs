//! The error paths every operation shares: a refused token (401), a token without the scope or
//! for another location (403), a rate limit (429) and a failing server (5xx), each typed.

use std::time::Instant;

use tether_connectors::ghl::models::ContactInput;
use tether_connectors::ghl::{ContactId, Error};
use tether_core::ErrorKind;
use tether_sim::ghl::auth::{AccessGrant, TokenKind};
use tether_sim::ghl::faults::FaultsConfig;

use crate::support::{TestSim, client_for};

/// Registers a location token with only `scopes`.
fn token_with_scopes(sim: &TestSim, token: &str, scopes: &[&str]) {
    sim.world().tokens.access.write().insert(
        token.into(),
        AccessGrant {
            kind: TokenKind::Location,
            app_id: "read-only-app".into(),
            location_id: Some(sim.location_id()),
            company_id: sim.world().config.company_id.clone(),
            user_id: "u1".into(),
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            expires_at: None,
        },
    );
}

#[tokio::test]
async fn an_unknown_token_is_unauthorized() {
    let sim = TestSim::start().await;
    let client = sim.client_with_token("not-a-token");
    let error = client
        .contacts()
        .get(&ContactId::new("anything"))
        .await
        .unwrap_err();
    let Error::Unauthorized { message, .. } = &error else {
        panic!("expected a 401: {error:?}");
    };
    assert!(message.contains("invalid"), "{message}");
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.status(), Some(401));
}

#[tokio::test]
async fn a_read_only_token_reads_but_cannot_write() {
    let sim = TestSim::start().await;
    let contact = sim.contact("readonly@example.com").await;
    token_with_scopes(&sim, "read-only-token", &["contacts.readonly"]);
    let client = sim.client_with_token("read-only-token");
    let read = client.contacts().get(&contact.id).await.unwrap();
    assert_eq!(read.id, contact.id);

    let error = client.contacts().delete(&contact.id).await.unwrap_err();
    let Error::Forbidden { message, .. } = &error else {
        panic!("expected a 403: {error:?}");
    };
    assert!(message.contains("contacts.write"), "{message}");
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert!(sim.has_contact(&contact.id));

    let error = client
        .calendars()
        .list(&Default::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
}

#[tokio::test]
async fn a_token_cannot_reach_another_location() {
    let sim = TestSim::start().await;
    let client = client_for(
        &sim.running.base_url,
        crate::support::PIT,
        "SomeOtherLocation000",
        1,
    );
    let error = client
        .contacts()
        .create(&ContactInput {
            email: Some("elsewhere@example.com".into()),
            ..ContactInput::default()
        })
        .await
        .unwrap_err();
    let Error::Forbidden { message, .. } = &error else {
        panic!("expected a 403: {error:?}");
    };
    assert!(message.contains("location"), "{message}");
}

#[tokio::test]
async fn a_rate_limit_and_a_failing_server_are_typed() {
    let sim = TestSim::start().await;
    let client = sim.client_with_token(crate::support::PIT);
    let id = ContactId::new("anything");

    sim.world().faults.lock().set(
        FaultsConfig {
            rate_429: 1.0,
            ..FaultsConfig::default()
        },
        Instant::now(),
    );
    let error = client.contacts().get(&id).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert!(matches!(error.kind(), ErrorKind::Throttled { .. }));

    sim.world().faults.lock().set(
        FaultsConfig {
            error_rate: 1.0,
            ..FaultsConfig::default()
        },
        Instant::now(),
    );
    let error = client.contacts().get(&id).await.unwrap_err();
    let Error::Server { status, .. } = &error else {
        panic!("expected a 5xx: {error:?}");
    };
    assert!(matches!(status, 500 | 503), "{status}");
    assert_eq!(error.kind(), ErrorKind::Transient);

    sim.world()
        .faults
        .lock()
        .set(FaultsConfig::default(), Instant::now());
    let error = client.contacts().get(&id).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn upserts_are_retried_after_a_server_error_and_plain_creates_are_not() {
    let sim = TestSim::start().await;
    sim.world().faults.lock().set(
        FaultsConfig {
            error_rate: 1.0,
            ..FaultsConfig::default()
        },
        Instant::now(),
    );
    let input = ContactInput {
        email: Some("retry@example.com".into()),
        ..ContactInput::default()
    };
    // The test client makes up to 3 attempts.
    let mark = sim.log_mark();
    let error = sim
        .client
        .contacts()
        .upsert(&input, None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Server { .. }), "{error:?}");
    assert_eq!(sim.log_since(mark).len(), 3, "an upsert may be repeated");

    let mark = sim.log_mark();
    let error = sim.client.contacts().create(&input).await.unwrap_err();
    assert!(matches!(error, Error::Server { .. }), "{error:?}");
    assert_eq!(
        sim.log_since(mark).len(),
        1,
        "a create that may have been applied is not repeated"
    );
}

#[tokio::test]
async fn an_empty_answer_where_the_spec_declares_none_means_nothing_found() {
    // The simulator answers 200 with no body, before the operation runs, on every request.
    let sim = TestSim::start().await;
    let client = sim.client_with_token(crate::support::PIT);
    sim.world().faults.lock().set(
        FaultsConfig {
            empty_rate: 1.0,
            ..FaultsConfig::default()
        },
        Instant::now(),
    );
    let duplicate = client
        .contacts()
        .find_duplicate(Some("nobody@example.com"), None)
        .await
        .unwrap();
    assert_eq!(duplicate, None);
    let page = client
        .contacts()
        .search(&tether_connectors::ghl::models::SearchRequest {
            page_limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.contacts.is_empty() && page.total.is_none(), "{page:?}");
    // An operation that declares its answer still refuses an empty one: nothing was done.
    let error = client
        .contacts()
        .get(&ContactId::new("anything"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Transport(tether_http::Error::Decode { .. })),
        "{error:?}"
    );
    // Every call reached the simulator and got the empty 200.
    let log = sim.world().log.since(0);
    assert!(
        log.len() >= 3 && log.iter().all(|entry| entry.status == 200),
        "{log:?}"
    );
}
