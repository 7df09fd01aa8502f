//! Several `tether serve` processes on one PostgreSQL database share one GHL connection's rate
//! limit: together they never send more than HighLevel allows, so GHL answers no 429.
//!
//! Three processes carry Details Flowers customers into one GHL location (the recipe
//! `df-customer-to-ghl-contact`: one GHL upsert per customer, from whichever process runs it)
//! against `tether sim ghl` at a tight limit, 20 requests per second, so the test is short. Each
//! process alone could send the whole budget; only sharing it keeps the sum under the limit.
//! `cargo bench -p tether --bench sync -- --rate-limit` measures the same at GHL's real limit
//! and how close to it the processes get.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli::start_process;
use crate::crash::{PIT, Place, drop_postgres_database, new_postgres_database};

const CUSTOMERS: usize = 300;
const BURST_MAX: u32 = 20;
const BURST_WINDOW_MS: u64 = 1_000;

#[test]
fn three_processes_on_postgres_share_a_ghl_rate_limit_and_meet_no_429() {
    let _alone = crate::BROWSER_OR_SCALE_OUT
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (_ghl, ghl_url) = start_process(
        &["sim", "ghl", "--listen", "127.0.0.1:0", "--pit", PIT],
        &[
            "--burst-max",
            &BURST_MAX.to_string(),
            "--burst-window-ms",
            &BURST_WINDOW_MS.to_string(),
        ],
        "GHL simulator listening on ",
    );
    let (_flowers, flowers_url) = start_process(
        &["sim", "details-flowers", "--listen", "127.0.0.1:0"],
        &["--seed", &CUSTOMERS.to_string(), "--rate-limit", "off"],
        "Details Flowers simulator listening on ",
    );
    let dir = std::env::temp_dir().join(format!(
        "tether-scale-out-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let place = Place {
        data_dir: dir.join("data"),
        postgres: Some(runtime.block_on(new_postgres_database())),
    };
    let flows_dir = dir.join("flows");
    std::fs::create_dir_all(&flows_dir).unwrap();
    let flow = "df-customer-to-ghl-contact.yaml";
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    std::fs::copy(shipped.join(flow), flows_dir.join(flow)).unwrap();
    place.connect_simulators(&ghl_url, &flowers_url);
    // GHL's connection keeps its published limit, which the simulator's headers then correct
    // to the 20 per second it enforces; Details Flowers is not limited here.
    place.tether(&[
        "connections",
        "set",
        "details-flowers-main",
        "--rate-limit",
        "off",
    ]);
    // The connects' own test calls are not the processes' traffic.
    sim_admin(&ghl_url, "DELETE", "/__sim/requests");

    let servers: Vec<_> = (0..3).map(|_| place.serve(&flows_dir)).collect();
    let store = runtime.block_on(place.store());
    let started = Instant::now();
    // Which processes hold runs, sampled as they go (a done run names no holder).
    let mut owners = BTreeSet::new();
    let url = &place.postgres.as_ref().unwrap().0;
    let mut database = runtime
        .block_on(<sqlx::PgConnection as sqlx::Connection>::connect(url))
        .unwrap();
    loop {
        let counts = runtime.block_on(store.run_counts()).unwrap();
        let holders: Vec<(String,)> = runtime
            .block_on(
                sqlx::query_as(
                    "SELECT DISTINCT lease_owner FROM runs WHERE lease_owner IS NOT NULL",
                )
                .fetch_all(&mut database),
            )
            .unwrap();
        owners.extend(holders.into_iter().map(|(owner,)| owner));
        if counts.done + counts.dead >= CUSTOMERS as i64 && counts.pending() == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the sync did not finish in 4 minutes: {counts:?}"
        );
        runtime.block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
    }
    let took = started.elapsed();
    let dead = runtime.block_on(store.dlq_list(10)).unwrap();
    assert!(dead.is_empty(), "dead-lettered: {dead:?}");
    assert!(
        owners.len() >= 3,
        "every process ran some of the runs, so all three spent the budget: {owners:?}"
    );

    let log = sim_admin(&ghl_url, "GET", "/__sim/requests");
    let operations: Vec<&Value> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|request| !request["operation_id"].is_null())
        .collect();
    let refused = operations
        .iter()
        .filter(|request| request["status"] == 429)
        .count();
    let upserts = operations
        .iter()
        .filter(|request| request["operation_id"] == "upsert-contact" && request["status"] == 200)
        .count();
    let first = operations
        .first()
        .map_or(0, |request| request["received_at_ms"].as_i64().unwrap());
    let mut kinds = std::collections::BTreeMap::new();
    for request in &operations {
        *kinds
            .entry((
                request["operation_id"].to_string(),
                request["status"].to_string(),
            ))
            .or_insert(0) += 1;
    }
    println!(
        "scale-out: {} GHL requests ({upserts} upserts) from 3 processes in {took:.1?}, \
         {refused} answered 429, limit {BURST_MAX} per {BURST_WINDOW_MS} ms; {kinds:?}",
        operations.len()
    );
    let refusals: Vec<i64> = operations
        .iter()
        .filter(|request| request["status"] == 429)
        .map(|request| request["received_at_ms"].as_i64().unwrap() - first)
        .collect();
    assert_eq!(
        refused, 0,
        "GHL answered 429 (the processes overspent) at {refusals:?} ms; requests: {kinds:?}"
    );
    // Every seeded customer has an e-mail (the manifest requires one).
    assert_eq!(upserts, CUSTOMERS, "one upsert per customer");

    runtime.block_on(store.close());
    drop(servers);
    if let Some((_, admin_url, database)) = &place.postgres {
        runtime.block_on(drop_postgres_database(admin_url, database));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A simulator admin call, its JSON answer.
fn sim_admin(base: &str, method: &str, path: &str) -> Value {
    let output = Command::new("curl")
        .args(["-sf", "-X", method])
        .arg(format!("{base}{path}"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{method} {path}");
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}
