//! Flickr's refusals as typed errors, against the simulator: the global codes from bad keys,
//! tokens and permissions, method-specific codes with their method, HTTP 429 honoured by the
//! limiter, and error 105 and 5xx pages retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tether_connectors::flickr::{Error, PhotoId};
use tether_core::ErrorKind;
use tether_http::{LimitConfig, WindowLimiter};
use tether_sim::flickr::{DEFAULT_CONSUMER_SECRET, FlickrSimConfig, Perms, SimHourlyLimit};

use crate::flickr_support::{FlickrTest, client_for, config};

/// The code and kind of a refused call.
fn refused<T: std::fmt::Debug>(outcome: Result<T, Error>) -> (u32, ErrorKind, String) {
    let error = outcome.expect_err("the call was refused");
    let code = error
        .code()
        .unwrap_or_else(|| panic!("not an API error: {error:?}"));
    (code, error.kind(), error.to_string())
}

#[tokio::test]
async fn keys_tokens_and_permissions_are_auth_errors() {
    let test = FlickrTest::start().await;
    let (token, secret) = (test.token.0.clone(), test.token.1.clone());

    let wrong_secret = test.client_with_keys("not-the-consumer-secret", &token, &secret);
    let (code, kind, message) = refused(wrong_secret.test().login().await);
    assert_eq!((code, kind), (96, ErrorKind::Auth), "{message}");

    let unknown_token = test.client_with_keys(
        DEFAULT_CONSUMER_SECRET,
        "72157000000000000-0000000000000000",
        &secret,
    );
    let (code, kind, _) = refused(unknown_token.test().login().await);
    assert_eq!((code, kind), (98, ErrorKind::Auth));

    let reader = test.client_with_perms(Perms::Read);
    let photo = PhotoId::new(test.photos(1, "p").remove(0));
    assert!(
        reader.photos().get_info(&photo, None).await.is_ok(),
        "reads work with read"
    );
    let (code, kind, message) = refused(reader.photos().set_meta(&photo, Some("x"), None).await);
    assert_eq!((code, kind), (99, ErrorKind::Auth));
    assert!(message.contains("flickr.photos.setMeta"), "{message}");

    // A user who removed the app: the token is unknown from then on.
    assert!(test.world().revoke_token(&token));
    let (code, _, _) = refused(test.client.test().login().await);
    assert_eq!(code, 98);
}

#[tokio::test]
async fn method_errors_carry_their_method_and_message() {
    let test = FlickrTest::start().await;
    let (code, kind, message) = refused(
        test.client
            .photos()
            .set_meta(&PhotoId::new("1"), Some("title"), None)
            .await,
    );
    assert_eq!((code, kind), (1, ErrorKind::Permanent));
    assert!(
        message.starts_with("flickr.photos.setMeta failed with error 1: Photo not found"),
        "{message}"
    );

    let (code, kind, message) = refused(
        test.client
            .call_method("flickr.photos.noSuchThing", false, &[])
            .await,
    );
    assert_eq!((code, kind), (112, ErrorKind::Permanent));
    assert!(message.contains("flickr.photos.noSuchThing"), "{message}");

    let (code, _, _) = refused(
        test.client
            .people()
            .find_by_email("nobody@example.com")
            .await,
    );
    assert_eq!(code, 1);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let test = FlickrTest::start().await;
    let mark = test.log_mark();
    let check = |outcome: Result<serde_json::Value, Error>, path: &str| {
        let Err(Error::InvalidInput { path: found, .. }) = &outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(found, path);
    };
    use tether_connectors::flickr::catalog::invoke;
    check(
        invoke(
            &test.client,
            "flickr.photo.set_meta",
            json!({"photo_id": ""}),
        )
        .await,
        "photo_id",
    );
    check(
        invoke(
            &test.client,
            "flickr.photo.set_meta",
            json!({"photo_id": "1"}),
        )
        .await,
        "title",
    );
    check(
        invoke(
            &test.client,
            "flickr.photo.set_tags",
            json!({"photo_id": "1", "tags": "a"}),
        )
        .await,
        "tags",
    );
    check(
        invoke(
            &test.client,
            "flickr.photo.upload",
            json!({"photo_base64": "%%%", "filename": "a"}),
        )
        .await,
        "photo_base64",
    );
    check(
        invoke(
            &test.client,
            "flickr.photo.new",
            json!({"cursor": {"since": "x"}}),
        )
        .await,
        "cursor.since",
    );
    let unknown = invoke(&test.client, "flickr.photo.frobnicate", json!({})).await;
    assert!(
        matches!(unknown, Err(Error::UnknownOperation { .. })),
        "{unknown:?}"
    );
    assert!(
        test.log_since(mark).is_empty(),
        "nothing reached the simulator"
    );
}

#[tokio::test]
async fn a_429_blocks_the_limiter_until_the_window_passes() {
    let test = FlickrTest::with_config(FlickrSimConfig {
        rate_limit: Some(SimHourlyLimit {
            requests: 3,
            window_ms: 1_000,
        }),
        ..config()
    })
    .await;
    // Without retries the 429 surfaces as a typed, throttled error.
    let single = test.client_with_keys(DEFAULT_CONSUMER_SECRET, &test.token.0, &test.token.1);
    for _ in 0..3 {
        single.test().login().await.unwrap();
    }
    let error = single.test().login().await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert!(matches!(error.kind(), ErrorKind::Throttled { .. }));
    assert_eq!(error.status(), Some(429));

    // With a limiter that believes in more than the service allows, the 429 teaches it: it
    // holds every request for one window, then the retry passes.
    let limiter = Arc::new(WindowLimiter::trusting(LimitConfig {
        burst_max: 100,
        burst_window: Duration::from_secs(1),
        daily_max: 10_000,
        safety_margin: Duration::from_millis(50),
    }));
    let client = client_for(
        &test.running.base_url,
        DEFAULT_CONSUMER_SECRET,
        &test.token.0,
        &test.token.1,
        3,
        Some(limiter.clone()),
    );
    let mark = test.log_mark();
    let started = Instant::now();
    for _ in 0..6 {
        client.test().login().await.unwrap();
    }
    let statuses: Vec<u16> = test
        .log_since(mark)
        .iter()
        .map(|request| request.status)
        .collect();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert!(refused >= 1, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        6,
        "{statuses:?}"
    );
    // Each 429 was followed by a wait of a whole window, not by a burst of retries.
    assert!(refused <= 2, "{statuses:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

/// Sets the simulator's injected faults over its admin API.
async fn set_faults(test: &FlickrTest, error_rate: f64) {
    let answer = reqwest::Client::new()
        .put(format!("{}/__sim/faults", test.running.base_url))
        .json(&json!({"error_rate": error_rate, "latency_ms": 0}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

#[tokio::test]
async fn error_105_and_5xx_pages_are_retried() {
    let test = FlickrTest::start().await;
    set_faults(&test, 1.0).await;
    // One attempt per call: the faults come through as transient errors, 105 among them.
    let single = test.client_with_keys(DEFAULT_CONSUMER_SECRET, &test.token.0, &test.token.1);
    let mut kinds = Vec::new();
    for _ in 0..12 {
        let error = single.test().login().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Transient, "{error:?}");
        kinds.push(
            error
                .code()
                .map_or_else(|| format!("{:?}", error.status()), |code| code.to_string()),
        );
    }
    assert!(kinds.iter().any(|kind| kind == "105"), "{kinds:?}");
    assert!(
        kinds
            .iter()
            .any(|kind| kind == "Some(502)" || kind == "Some(503)"),
        "{kinds:?}"
    );

    // With the stack's retries, a read gets through a 30 % fault rate every time.
    set_faults(&test, 0.3).await;
    let mark = test.log_mark();
    for _ in 0..15 {
        test.client.test().login().await.unwrap();
    }
    let sent = test.log_since(mark).len();
    assert!(
        sent > 15,
        "faults were retried: {sent} requests for 15 calls"
    );
}
