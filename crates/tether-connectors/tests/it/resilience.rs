//! The client under a 429 storm and 20 % injected 5xx: every request ends answered, and once the
//! storm is over not one request is sent past the simulator's limit.

use std::sync::Arc;
use std::time::Duration;

use tether_connectors::ghl::{GhlClient, LocationId};
use tether_core::Secret;
use tether_http::{
    ClientConfig, HttpClient, LimitConfig, RetryConfig, StaticBearer, WindowLimiter,
};
use tether_sim::ghl::faults::FaultsConfig;
use tether_sim::ghl::{GhlSim, GhlSimConfig, RateLimitConfig};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_and_server_errors_end_with_every_request_answered_within_the_limit() {
    let limits = RateLimitConfig {
        enabled: true,
        burst_max: 40,
        burst_window: Duration::from_millis(1_000),
        daily_max: 1_000_000,
    };
    let config = GhlSimConfig {
        pits: vec!["pit".into()],
        seed_contacts: 50,
        rate_limit: limits,
        ..GhlSimConfig::default()
    };
    let sim = GhlSim::new(config)
        .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
        .await
        .unwrap();
    let world = sim.sim.world().clone();
    let ids: Vec<String> = {
        let location = world.location(&world.config.location_id).unwrap();
        let location = location.read();
        location.contacts.keys().cloned().collect()
    };
    world.faults.lock().set(
        FaultsConfig {
            storm_429_ms: 700,
            error_rate: 0.2,
            ..FaultsConfig::default()
        },
        std::time::Instant::now(),
    );

    // Seeded with GHL's published 100 per 10 s, while this simulator allows 40 per second: the
    // limiter probes one request at a time until an answer reports the real limits, so even a
    // wrong seed never sends a burst past them.
    let mut client_config = ClientConfig::new("storm", sim.base_url.parse().unwrap());
    client_config.retry = RetryConfig {
        max_attempts: 12,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(500),
        ..RetryConfig::default()
    };
    client_config.timeouts.call = Duration::from_secs(60);
    let limiter = Arc::new(WindowLimiter::new(LimitConfig::ghl()));
    let http = HttpClient::new(
        client_config,
        Arc::new(StaticBearer(Secret::new("pit"))),
        Some(limiter),
    )
    .unwrap();
    let client = GhlClient::new(http, LocationId::new(world.config.location_id.clone()));

    let mut callers = tokio::task::JoinSet::new();
    for idx in 0..160 {
        let client = client.clone();
        let id = ids[idx % ids.len()].clone();
        callers.spawn(async move {
            client
                .contacts()
                .get(&id.as_str().into())
                .await
                .map(|contact| contact.id)
        });
    }
    let mut n_answered = 0;
    while let Some(result) = callers.join_next().await {
        result.unwrap().unwrap();
        n_answered += 1;
    }
    assert_eq!(n_answered, 160);

    let log = world.log.since(0);
    let first_success = log
        .iter()
        .position(|request| request.status == 200)
        .expect("some request succeeded");
    let storm_429s = log[..first_success]
        .iter()
        .filter(|request| request.status == 429)
        .count();
    let late_429s = log[first_success..]
        .iter()
        .filter(|request| request.status == 429)
        .count();
    let n_5xx = log.iter().filter(|request| request.status >= 500).count();
    assert!(storm_429s > 0, "the storm was felt");
    assert!(
        n_5xx > 10,
        "server errors were injected and retried: {n_5xx}"
    );
    assert_eq!(
        late_429s, 0,
        "after the storm, no request went past the limit"
    );
}
