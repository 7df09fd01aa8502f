//! Rate limits and injected faults over HTTP: the five `X-RateLimit-*` headers, the burst and
//! daily budgets per app and resource, the fault modes, and the rest of the admin API (tokens,
//! PITs, location settings, health).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{CONTACTS_VERSION, Sim};

const HEADERS: [&str; 5] = [
    "x-ratelimit-limit-daily",
    "x-ratelimit-daily-remaining",
    "x-ratelimit-interval-milliseconds",
    "x-ratelimit-max",
    "x-ratelimit-remaining",
];

/// `GET /contacts/{id}` of a made-up contact with `token`: a 404 when let through.
async fn probe(sim: &Sim, token: &str) -> reqwest::Response {
    sim.http
        .get(format!("{}/contacts/made-up-contact-id", sim.base_url))
        .bearer_auth(token)
        .header("Version", CONTACTS_VERSION)
        .send()
        .await
        .unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> u64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

async fn admin(sim: &Sim, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    sim.send(
        sim.http
            .request(method, format!("{}{path}", sim.base_url))
            .json(&body),
    )
    .await
}

async fn new_pit(sim: &Sim, location_id: Option<&str>) -> String {
    let body = match location_id {
        Some(location_id) => json!({"locationId": location_id}),
        None => json!({}),
    };
    let (status, created) = admin(sim, Method::POST, "/__sim/pits", body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_burst_limit_lets_exactly_burst_max_through_then_answers_429() {
    let sim = Sim::default().await;
    for n in 1..=100u64 {
        let response = probe(&sim, crate::support::PIT).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "request {n}");
        assert_eq!(
            header(&response, "x-ratelimit-remaining"),
            100 - n,
            "request {n}"
        );
        assert_eq!(header(&response, "x-ratelimit-max"), 100);
        assert_eq!(
            header(&response, "x-ratelimit-interval-milliseconds"),
            10_000
        );
        assert_eq!(header(&response, "x-ratelimit-limit-daily"), 200_000);
        assert_eq!(
            header(&response, "x-ratelimit-daily-remaining"),
            200_000 - n
        );
    }
    let refused = probe(&sim, crate::support::PIT).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    for name in HEADERS {
        assert!(
            refused.headers().contains_key(name),
            "{name} missing on the 429"
        );
    }
    assert_eq!(header(&refused, "x-ratelimit-remaining"), 0);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["statusCode"], 429);
    assert!(body["message"].is_string());

    // Another PIT on the same location is another app: its own budget.
    let same_location = new_pit(&sim, None).await;
    let response = probe(&sim, &same_location).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 99);

    // So is a PIT of another location.
    let other_location = sim
        .world()
        .locations
        .read()
        .keys()
        .find(|id| **id != sim.location_id())
        .cloned()
        .unwrap();
    let elsewhere = new_pit(&sim, Some(&other_location)).await;
    let response = probe(&sim, &elsewhere).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 99);

    // The exhausted one is still refused.
    assert_eq!(
        probe(&sim, crate::support::PIT).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn an_exhausted_daily_quota_answers_429_with_zero_daily_remaining() {
    let sim = Sim::default().await;
    let (status, limits) = admin(
        &sim,
        Method::PUT,
        "/__sim/rate-limit",
        json!({"daily_max": 5}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        limits,
        json!({"enabled": true, "burst_max": 100, "burst_window_ms": 10_000, "daily_max": 5})
    );

    for n in 1..=5u64 {
        let response = probe(&sim, crate::support::PIT).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "request {n}");
        assert_eq!(header(&response, "x-ratelimit-daily-remaining"), 5 - n);
    }
    let refused = probe(&sim, crate::support::PIT).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "x-ratelimit-daily-remaining"), 0);
    assert_eq!(header(&refused, "x-ratelimit-limit-daily"), 5);
    // The burst budget is not what ran out.
    assert_eq!(header(&refused, "x-ratelimit-remaining"), 95);
}

#[tokio::test]
async fn disabled_limits_send_no_headers_and_never_429() {
    let sim = Sim::default().await;
    let (status, _) = admin(
        &sim,
        Method::PUT,
        "/__sim/rate-limit",
        json!({"enabled": false, "burst_max": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, limits) = sim
        .send(sim.http.get(format!("{}/__sim/rate-limit", sim.base_url)))
        .await;
    assert_eq!(limits["enabled"], false);
    assert_eq!(limits["burst_max"], 2);
    for _ in 0..10 {
        let response = probe(&sim, crate::support::PIT).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        for name in HEADERS {
            assert!(
                !response.headers().contains_key(name),
                "{name} sent while limits are off"
            );
        }
    }

    // Back on, the new burst limit holds from a fresh budget.
    admin(
        &sim,
        Method::PUT,
        "/__sim/rate-limit",
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(
        probe(&sim, crate::support::PIT).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        probe(&sim, crate::support::PIT).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        probe(&sim, crate::support::PIT).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    let (status, _) = admin(
        &sim,
        Method::PUT,
        "/__sim/rate-limit",
        json!({"burst_window_ms": 0}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = admin(&sim, Method::PUT, "/__sim/rate-limit", json!({"burst": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_error_rate_of_one_answers_500_or_503_until_cleared() {
    let sim = Sim::default().await;
    let (status, _) = admin(
        &sim,
        Method::PUT,
        "/__sim/faults",
        json!({"error_rate": 1.0}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut seen = Vec::new();
    for _ in 0..20 {
        let response = probe(&sim, crate::support::PIT).await;
        let status = response.status();
        assert!(matches!(status.as_u16(), 500 | 503), "{status}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["statusCode"], status.as_u16());
        seen.push(status.as_u16());
    }
    assert!(
        seen.contains(&500) && seen.contains(&503),
        "both kinds are drawn: {seen:?}"
    );

    // The admin API is exempt from faults.
    let (status, health) = sim
        .send(sim.http.get(format!("{}/__sim/health", sim.base_url)))
        .await;
    assert_eq!(
        (status, health["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );

    admin(&sim, Method::PUT, "/__sim/faults", json!({})).await;
    assert_eq!(
        probe(&sim, crate::support::PIT).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_429_storm_refuses_everything_then_ends() {
    let sim = Sim::default().await;
    let started = Instant::now();
    let (status, _) = admin(
        &sim,
        Method::PUT,
        "/__sim/faults",
        json!({"storm_429_ms": 300}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        probe(&sim, crate::support::PIT).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = probe(&sim, crate::support::PIT).await.status();
        if status != StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(status, StatusCode::NOT_FOUND);
            break;
        }
        assert!(Instant::now() < deadline, "the storm never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the storm ended early"
    );
}

#[tokio::test]
async fn a_reset_rate_of_one_cuts_the_connection() {
    let sim = Sim::default().await;
    let (status, _) = admin(
        &sim,
        Method::PUT,
        "/__sim/faults",
        json!({"reset_rate": 1.0}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let outcome = sim
        .http
        .get(format!("{}/contacts/made-up-contact-id", sim.base_url))
        .bearer_auth(crate::support::PIT)
        .header("Version", CONTACTS_VERSION)
        .send()
        .await;
    // The head may or may not be sent before the cut; either way the client never gets an answer.
    let failed = match outcome {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(failed, "the request completed despite reset_rate 1.0");
}

#[tokio::test]
async fn the_admin_api_revokes_tokens_adds_pits_and_sets_location_settings() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let pit = new_pit(&sim, None).await;
    assert_eq!(probe(&sim, &pit).await.status(), StatusCode::NOT_FOUND);
    let (status, _) = admin(
        &sim,
        Method::POST,
        "/__sim/pits",
        json!({"locationId": "no-such-location"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revoking one token leaves the others.
    let (status, body) = admin(
        &sim,
        Method::POST,
        "/__sim/tokens/revoke",
        json!({"token": pit}),
    )
    .await;
    assert_eq!(
        (status, body["revoked"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    assert_eq!(probe(&sim, &pit).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        probe(&sim, crate::support::PIT).await.status(),
        StatusCode::NOT_FOUND
    );

    // Revoking a location's tokens takes its PITs too.
    let (status, body) = admin(
        &sim,
        Method::POST,
        "/__sim/tokens/revoke",
        json!({"locationId": location_id}),
    )
    .await;
    assert_eq!(
        (status, body["revoked"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    assert_eq!(
        probe(&sim, crate::support::PIT).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = admin(&sim, Method::POST, "/__sim/tokens/revoke", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Duplicate settings reach the location's record.
    let path = format!("/__sim/locations/{location_id}/settings");
    let (status, settings) = admin(
        &sim,
        Method::PUT,
        &path,
        json!({"allowDuplicates": true, "duplicatePriority": ["phone", "email"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["duplicatePriority"], json!(["phone", "email"]));
    {
        let location = sim.world().location(&location_id).unwrap();
        let location = location.read();
        assert!(location.allow_duplicates);
        assert_eq!(
            location.duplicate_priority,
            vec![
                tether_sim::ghl::state::MatchField::Phone,
                tether_sim::ghl::state::MatchField::Email
            ]
        );
    }
    let (status, _) = admin(
        &sim,
        Method::PUT,
        &path,
        json!({"duplicatePriority": ["fax"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = admin(
        &sim,
        Method::PUT,
        "/__sim/locations/nowhere/settings",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, health) = sim
        .send(sim.http.get(format!("{}/__sim/health", sim.base_url)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["locations"], 2);
}
