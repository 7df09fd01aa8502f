//! Benchmarks of the GHL simulator, printed as a table (run with `cargo bench -p tether-sim`).
//!
//! 1. Seeding: time and resident memory to generate N contacts (with their tasks, notes and
//!    appointments), each N measured in a fresh child process so the figures do not mix.
//! 2. Throughput: `GET /contacts/{id}` with rate limits and the request log off, over loopback,
//!    for a bounded time, from an in-process client with many connections, and from `wrk` when it
//!    is installed (it costs the shared 2 cores far less than our own client does).
//!
//! Options: `--seed-sizes 100000,1000000`, `--seconds 5`, `--connections 64`, `--contacts 10000`.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tether_sim::ghl::{GhlSim, GhlSimConfig, RateLimitConfig};
use tokio_util::sync::CancellationToken;

const PIT: &str = "bench-pit";

struct Options {
    seed_sizes: Vec<usize>,
    seconds: u64,
    connections: usize,
    contacts: usize,
}

fn options() -> Options {
    let mut options = Options {
        seed_sizes: vec![100_000, 1_000_000],
        seconds: 5,
        connections: 64,
        contacts: 10_000,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut idx = 1;
    while idx < args.len() {
        let value = args.get(idx + 1).cloned().unwrap_or_default();
        match args[idx].as_str() {
            "--seed-sizes" => {
                options.seed_sizes = value.split(',').filter_map(|n| n.parse().ok()).collect()
            }
            "--seconds" => options.seconds = value.parse().expect("--seconds takes a number"),
            "--connections" => {
                options.connections = value.parse().expect("--connections takes a number")
            }
            "--contacts" => options.contacts = value.parse().expect("--contacts takes a number"),
            _ => {
                idx += 1;
                continue;
            }
        }
        idx += 2;
    }
    options
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

fn config(n_contacts: usize) -> GhlSimConfig {
    GhlSimConfig {
        pits: vec![PIT.into()],
        seed_contacts: n_contacts,
        rate_limit: RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        },
        request_log_capacity: 0,
        ..GhlSimConfig::default()
    }
}

/// Child mode: seed N contacts, print `seconds rss_kb hwm_kb`.
fn seed_child(n_contacts: usize) {
    let before = status_kb("VmRSS:");
    let started = Instant::now();
    let sim = GhlSim::new(config(n_contacts));
    let seconds = started.elapsed().as_secs_f64();
    let rss = status_kb("VmRSS:");
    let hwm = status_kb("VmHWM:");
    let location = sim
        .world()
        .location(&sim.world().config.location_id)
        .expect("seeded location");
    let n_seeded = location.read().contacts.len();
    assert_eq!(
        n_seeded, n_contacts,
        "the seeder made a different number of contacts"
    );
    println!("{seconds} {} {hwm}", rss - before);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(idx) = args.iter().position(|arg| arg == "--seed-child") {
        seed_child(args[idx + 1].parse().expect("--seed-child takes a number"));
        return;
    }
    // `cargo test --benches` runs bench targets with `--bench`-less args; only run when benchmarking.
    if !args.iter().any(|arg| arg == "--bench") {
        return;
    }
    let options = options();

    println!();
    println!("GHL simulator: seeding (fresh process per size)");
    println!(
        "| contacts | seconds | contacts/s | RSS added (MiB) | peak RSS (MiB) | bytes/contact |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for &n_contacts in &options.seed_sizes {
        let exe = std::env::current_exe().expect("the bench knows its own path");
        let output = Command::new(exe)
            .args(["--seed-child", &n_contacts.to_string()])
            .output()
            .expect("child runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<f64> = text
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        if fields.len() != 3 {
            println!(
                "| {n_contacts} | failed: {} |",
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            continue;
        }
        let (seconds, rss_kb, hwm_kb) = (fields[0], fields[1], fields[2]);
        println!(
            "| {n_contacts} | {seconds:.2} | {:.0} | {:.0} | {:.0} | {:.0} |",
            n_contacts as f64 / seconds,
            rss_kb / 1024.0,
            hwm_kb / 1024.0,
            rss_kb * 1024.0 / n_contacts as f64
        );
    }

    throughput(&options);
}

fn throughput(options: &Options) {
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sim = GhlSim::new(config(options.contacts));
    let location_id = sim.world().config.location_id.clone();
    let ids: Vec<String> = {
        let location = sim.world().location(&location_id).expect("seeded location");
        let location = location.read();
        location.contacts.keys().take(1_000).cloned().collect()
    };
    let shutdown = CancellationToken::new();
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
    let running = server_runtime
        .block_on(sim.spawn(addr, shutdown.clone()))
        .expect("simulator listens");
    let base_url = running.base_url.clone();

    println!();
    println!(
        "GHL simulator: GET /contacts/{{id}} over loopback, rate limits and request log off, {} contacts, {} s per client",
        options.contacts, options.seconds
    );
    println!("| client | connections | requests | req/s | p50 ms | p99 ms | non-200 |");
    println!("|---|---:|---:|---:|---:|---:|---:|");

    // In-process client: a second runtime, many connections, random ids.
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let report = client_runtime.block_on(in_process_load(
        &base_url,
        &ids,
        options.connections,
        Duration::from_secs(options.seconds),
    ));
    println!(
        "| in-process reqwest | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
        options.connections,
        report.0,
        report.0 as f64 / options.seconds as f64,
        report.1,
        report.2,
        report.3
    );

    // wrk, when installed: one contact id, keep-alive connections, bounded duration.
    if Command::new("wrk").arg("--version").output().is_ok() {
        let script = std::env::temp_dir().join("tether-bench-headers.lua");
        std::fs::write(
            &script,
            format!("wrk.headers[\"Authorization\"] = \"Bearer {PIT}\"\nwrk.headers[\"Version\"] = \"2021-07-28\"\n"),
        )
        .expect("temp dir is writable");
        let output = Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{}", options.connections),
                &format!("-d{}s", options.seconds),
                "--latency",
                "-s",
                &script.to_string_lossy(),
                &format!("{base_url}/contacts/{}", ids[0]),
            ])
            .output()
            .expect("wrk runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let grab = |prefix: &str| {
            text.lines()
                .find(|line| line.trim_start().starts_with(prefix))
                .map(|line| line.split_whitespace().nth(1).unwrap_or("?").to_owned())
        };
        let requests = text
            .lines()
            .find(|line| line.contains("requests in"))
            .and_then(|line| line.split_whitespace().next())
            .unwrap_or("?");
        let non_2xx = grab("Non-2xx").unwrap_or_else(|| "0".into());
        println!(
            "| wrk (2 threads) | {} | {requests} | {} | {} | {} | {non_2xx} |",
            options.connections,
            grab("Requests/sec:").unwrap_or_else(|| "?".into()),
            grab("50%").unwrap_or_else(|| "?".into()),
            grab("99%").unwrap_or_else(|| "?".into()),
        );
    } else {
        println!("| wrk | not installed (apt-get install wrk) | | | | | |");
    }
    shutdown.cancel();
    server_runtime.block_on(async { running.stop().await.expect("simulator stops") });
}

/// Returns (requests, p50 ms, p99 ms, non-200 count).
async fn in_process_load(
    base_url: &str,
    ids: &[String],
    connections: usize,
    duration: Duration,
) -> (u64, f64, f64, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let n_errors = Arc::new(AtomicU64::new(0));
    let ids = Arc::new(ids.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let (client, stop, n_errors, ids) =
            (client.clone(), stop.clone(), n_errors.clone(), ids.clone());
        let base_url = base_url.to_owned();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(100_000);
            let mut idx = worker;
            while !stop.load(Ordering::Relaxed) {
                let id = &ids[idx % ids.len()];
                idx += 7;
                let started = Instant::now();
                let response = client
                    .get(format!("{base_url}/contacts/{id}"))
                    .bearer_auth(PIT)
                    .header("Version", "2021-07-28")
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status().as_u16() == 200 => {
                        let _ = response.bytes().await;
                    }
                    _ => {
                        n_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.push(started.elapsed());
            }
            latencies
        });
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    while let Some(result) = tasks.join_next().await {
        latencies.extend(result.expect("load task does not panic"));
    }
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (
        latencies.len() as u64,
        pick(0.5),
        pick(0.99),
        n_errors.load(Ordering::Relaxed),
    )
}
