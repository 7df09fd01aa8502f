//! Several `tether serve` processes spending one GHL location's rate limit, printed as a table
//! (`cargo bench -p tether --bench rate_limit`; `-- --customers 600 --processes 1,3`).
//!
//! For each number of processes: `tether sim ghl` at GHL's real limit (100 requests per 10 s per
//! location), `tether sim details-flowers` with N customers, a fresh PostgreSQL database
//! (`--postgres ADMIN_URL`, default the local server), and that many `tether serve` processes
//! running the shipped recipe `df-customer-to-ghl-contact`: one process polls Details Flowers, and
//! every process runs some of the runs, each a duplicate search and an upsert in GHL through the
//! same connection. The simulator's request log then tells how many GHL requests came, how many
//! it refused with 429, and how close to the limit they came: `of limit` is the requests
//! against the most the limit admits between the first request and the last (a burst per window
//! opened in that time), so 1.00 wastes nothing.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Process, drop_database, new_database, start};

const PIT: &str = "bench-pit";
const LOCATION: &str = "ve9EPM428h8vShlRW1KT";
/// GHL's limit, which `tether sim ghl` enforces by default.
const BURST: u64 = 100;
const WINDOW_MS: i64 = 10_000;

struct Row {
    processes: usize,
    customers: usize,
    requests: usize,
    refused: usize,
    /// From the first GHL request to the last, ms.
    span_ms: i64,
}

/// A simulator admin call's JSON answer.
fn sim_admin(base: &str, method: &str, path: &str) -> Value {
    let output = Command::new("curl")
        .args(["-sf", "-X", method])
        .arg(format!("{base}{path}"))
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "{method} {path}");
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

/// `tether ARGS` on the bench's data folder and database, which must succeed.
fn tether(data_dir: &std::path::Path, url: &str, args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--database", url])
        .output()
        .expect("tether runs");
    assert!(
        output.status.success(),
        "tether {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The GHL operations the simulator logged: (arrival ms, status, operation).
fn ghl_requests(ghl_url: &str) -> Vec<(i64, u64, String)> {
    sim_admin(ghl_url, "GET", "/__sim/requests")["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|request| {
            Some((
                request["received_at_ms"].as_i64()?,
                request["status"].as_u64()?,
                request["operation_id"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

async fn one(processes: usize, customers: usize, admin: &str) -> Row {
    let (_ghl, ghl_url) = start(
        &[
            "sim",
            "ghl",
            "--listen",
            "127.0.0.1:0",
            "--pit",
            PIT,
            "--request-log",
            "100000",
        ],
        "GHL simulator listening on ",
    );
    let (_flowers, flowers_url) = start(
        &[
            "sim",
            "details-flowers",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            &customers.to_string(),
            "--rate-limit",
            "off",
        ],
        "Details Flowers simulator listening on ",
    );
    let (url, name) = new_database(admin).await;
    let dir = std::env::temp_dir().join(format!(
        "tether-bench-rate-{}-{processes}",
        std::process::id()
    ));
    let flows = dir.join("flows");
    std::fs::create_dir_all(&flows).expect("a temp folder");
    let flow = "df-customer-to-ghl-contact.yaml";
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../flows")
            .join(flow),
        flows.join(flow),
    )
    .expect("the shipped recipe");
    let data = dir.join("data");
    tether(
        &data,
        &url,
        &[
            "connect",
            "ghl",
            "--name",
            "ghl-main",
            "--pit",
            PIT,
            "--location",
            LOCATION,
            "--api-base",
            &ghl_url,
        ],
    );
    tether(
        &data,
        &url,
        &[
            "connect",
            "details-flowers",
            "--name",
            "details-flowers-main",
            "--api-key",
            "sim-api-key",
            "--base-url",
            &flowers_url,
        ],
    );
    tether(
        &data,
        &url,
        &[
            "connections",
            "set",
            "details-flowers-main",
            "--rate-limit",
            "off",
        ],
    );
    // The window the connects' test calls opened closes first; then a clean log.
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(WINDOW_MS).unwrap_or(0) + 200,
    ))
    .await;
    sim_admin(&ghl_url, "DELETE", "/__sim/requests");

    let data_text = data.display().to_string();
    let flows_text = flows.display().to_string();
    let servers: Vec<Process> = (0..processes)
        .map(|_| {
            start(
                &[
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--flows",
                    &flows_text,
                    "--data-dir",
                    &data_text,
                    "--database",
                    &url,
                ],
                "Tether serving on ",
            )
            .0
        })
        .collect();
    // Two GHL calls per customer at 10 per second, and as long again to spare.
    let bound = Duration::from_secs(60 + customers as u64 * 2 * 2 / 10);
    let started = Instant::now();
    let requests = loop {
        let requests = ghl_requests(&ghl_url);
        let upserts = requests
            .iter()
            .filter(|(_, status, operation)| *status == 200 && operation == "upsert-contact")
            .count();
        if upserts >= customers {
            break requests;
        }
        assert!(
            started.elapsed() < bound,
            "{upserts} of {customers} customers upserted in {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    drop(servers);
    drop_database(admin, &name).await;
    let _ = std::fs::remove_dir_all(&dir);
    let first = requests.iter().map(|(at, _, _)| *at).min().unwrap_or(0);
    let last = requests.iter().map(|(at, _, _)| *at).max().unwrap_or(0);
    Row {
        processes,
        customers,
        requests: requests.len(),
        refused: requests
            .iter()
            .filter(|(_, status, _)| *status == 429)
            .count(),
        span_ms: last - first,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value_of = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1))
    };
    let customers: usize = value_of("--customers")
        .and_then(|text| text.parse().ok())
        .unwrap_or(600);
    let counts: Vec<usize> = value_of("--processes")
        .map(|text| text.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 3]);
    let admin = value_of("--postgres")
        .cloned()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "Details Flowers → GHL through one connection, `tether serve` processes on one PostgreSQL \
         database, GHL's limit of {BURST} requests per {} s",
        WINDOW_MS / 1000
    );
    println!(
        "{:>9} {:>10} {:>13} {:>5} {:>9} {:>11} {:>9}",
        "processes", "customers", "GHL requests", "429s", "seconds", "requests/s", "of limit"
    );
    for processes in counts {
        let row = runtime.block_on(one(processes, customers, &admin));
        let windows = u64::try_from(row.span_ms / WINDOW_MS).unwrap_or(0) + 1;
        let accepted = row.requests - row.refused;
        println!(
            "{:>9} {:>10} {:>13} {:>5} {:>9.1} {:>11.2} {:>9.2}",
            row.processes,
            row.customers,
            row.requests,
            row.refused,
            row.span_ms as f64 / 1000.0,
            accepted as f64 * 1000.0 / row.span_ms.max(1) as f64,
            accepted as f64 / (BURST * windows) as f64
        );
    }
}
