//! Benchmarks of the GHL client against the GHL simulator, printed as tables
//! (`cargo bench -p tether-connectors`).
//!
//! 1. **Rate-limited read**: every contact with its tasks, notes and appointments, through one
//!    connection against a simulator enforcing `burst_max` requests per window. The figure is the
//!    wall time divided by the theoretical minimum (requests needed ÷ allowed rate), and the 429s
//!    the simulator answered (from its request log). Run at GHL's own 100 per 10 s on a small
//!    account, and at 100 per 200 ms on 10,000 contacts (the same budget shape fifty times faster,
//!    which makes our per-request overhead count fifty times more: a pessimistic ratio).
//! 2. **Streaming with limits off**: contacts per second through `search_stream` and the client
//!    process's peak memory, at several sizes, with the simulator in a child process so its own
//!    memory is not counted. Flat memory as N grows means the stream never holds the whole set.
//!
//! Options: `--quick` (smaller sizes), `--stream-sizes 10000,100000,1000000`.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use tether_connectors::ghl::models::SearchRequest;
use tether_connectors::ghl::{GhlClient, LocationId};
use tether_core::Secret;
use tether_http::{ClientConfig, HttpClient, StaticBearer};
use tether_sim::ghl::{GhlSim, GhlSimConfig, RateLimitConfig};
use tokio_util::sync::CancellationToken;

const PIT: &str = "bench-pit";

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

fn sim_config(n_contacts: usize, rate_limit: RateLimitConfig, log: usize) -> GhlSimConfig {
    GhlSimConfig {
        pits: vec![PIT.into()],
        seed_contacts: n_contacts,
        rate_limit,
        request_log_capacity: log,
        ..GhlSimConfig::default()
    }
}

/// Child mode: serve a seeded simulator with limits off and print its URL; exit when stdin closes.
fn serve_child(n_contacts: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sim = GhlSim::new(sim_config(
            n_contacts,
            RateLimitConfig {
                enabled: false,
                ..RateLimitConfig::default()
            },
            0,
        ));
        let running = sim
            .spawn(
                "127.0.0.1:0".parse().expect("address"),
                CancellationToken::new(),
            )
            .await
            .expect("listens");
        println!("{}", running.base_url);
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(idx) = args.iter().position(|arg| arg == "--serve-child") {
        serve_child(args[idx + 1].parse().expect("--serve-child takes a number"));
        return;
    }
    if !args.iter().any(|arg| arg == "--bench") {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let quick = args.iter().any(|arg| arg == "--quick");
    let stream_sizes: Vec<usize> = args
        .iter()
        .position(|arg| arg == "--stream-sizes")
        .map(|idx| {
            args[idx + 1]
                .split(',')
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_else(|| {
            if quick {
                vec![10_000, 100_000]
            } else {
                vec![10_000, 100_000, 1_000_000]
            }
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    println!();
    println!(
        "GHL client: every contact with its tasks, notes and appointments, through the rate limit"
    );
    println!(
        "| contacts | limit | requests | wall s | requests÷rate s | ratio | window floor s | ratio | 429s |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let cases: &[(usize, u32, Duration)] = if quick {
        &[
            (100, 100, Duration::from_secs(10)),
            (2_000, 100, Duration::from_millis(200)),
        ]
    } else {
        &[
            (300, 100, Duration::from_secs(10)),
            (10_000, 100, Duration::from_millis(200)),
        ]
    };
    for &(n_contacts, burst_max, window) in cases {
        runtime.block_on(rate_limited_read(n_contacts, burst_max, window));
    }

    println!();
    println!("GHL client: search_stream with limits off (simulator in a child process)");
    println!("| contacts | seconds | contacts/s | client peak RSS (MiB) |");
    println!("|---:|---:|---:|---:|");
    for &n_contacts in &stream_sizes {
        stream_in_child_process(n_contacts);
    }
}

async fn rate_limited_read(n_contacts: usize, burst_max: u32, window: Duration) {
    let limits = RateLimitConfig {
        enabled: true,
        burst_max,
        burst_window: window,
        daily_max: 10_000_000,
    };
    let sim = GhlSim::new(sim_config(n_contacts, limits, 200_000));
    let world = sim.world().clone();
    let running = sim
        .spawn(
            "127.0.0.1:0".parse().expect("address"),
            CancellationToken::new(),
        )
        .await
        .expect("listens");
    let location = LocationId::new(world.config.location_id.clone());
    let client =
        GhlClient::with_token(&running.base_url, Secret::new(PIT), location).expect("client");
    let page_limit = 500;
    let started = Instant::now();
    let contacts: Vec<_> = client
        .contacts()
        .search_stream(SearchRequest {
            page_limit,
            ..SearchRequest::default()
        })
        .try_collect()
        .await
        .expect("search");
    let client = Arc::new(client);
    let n_related: usize = futures::stream::iter(contacts.iter().map(|contact| {
        let client = client.clone();
        let id = contact.id.clone();
        async move {
            let tasks = client.tasks().list(&id).await.expect("tasks");
            let notes = client.notes().list(&id).await.expect("notes");
            let appointments = client
                .calendars()
                .contact_appointments(&id)
                .await
                .expect("appointments");
            tasks.len() + notes.len() + appointments.len()
        }
    }))
    .buffer_unordered(16)
    .fold(0, |sum, n| async move { sum + n })
    .await;
    let wall = started.elapsed();
    assert_eq!(contacts.len(), n_contacts);
    let log = world.log.since(0);
    let n_requests = log.len();
    let n_429 = log.iter().filter(|request| request.status == 429).count();
    // The minimum: requests needed ÷ allowed rate.
    let minimum = window.as_secs_f64() * n_requests as f64 / f64::from(burst_max);
    // The exact floor under a window limit: the first `burst_max` go at once, and request n
    // cannot go before ⌊(n-1)/burst_max⌋ full windows have passed.
    let floor = window.as_secs_f64() * ((n_requests.saturating_sub(1)) / burst_max as usize) as f64;
    println!(
        "| {n_contacts} | {burst_max} per {window:?} | {n_requests} | {:.1} | {minimum:.1} | {:.3} | {floor:.1} | {:.3} | {n_429} |",
        wall.as_secs_f64(),
        wall.as_secs_f64() / minimum,
        wall.as_secs_f64() / floor
    );
    let _ = n_related;
    running.stop().await.expect("stops");
}

fn stream_in_child_process(n_contacts: usize) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .args(["--serve-child", &n_contacts.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("child starts");
    let mut base_url = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut base_url,
    )
    .expect("child prints its URL");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let before = status_kb("VmRSS:");
    let (seconds, n_seen) = runtime.block_on(async {
        // No limiter: this measures the client's own cost, against a simulator with limits off.
        let config = ClientConfig::new(
            "bench",
            base_url.trim().parse().expect("the child prints a URL"),
        );
        let http = HttpClient::new(config, Arc::new(StaticBearer(Secret::new(PIT))), None)
            .expect("client");
        let client = GhlClient::new(http, LocationId::new("ve9EPM428h8vShlRW1KT"));
        let started = Instant::now();
        let n_seen = client
            .contacts()
            .search_stream(SearchRequest {
                page_limit: 500,
                ..SearchRequest::default()
            })
            .try_fold(0usize, |n, _contact| async move { Ok(n + 1) })
            .await
            .expect("stream");
        (started.elapsed().as_secs_f64(), n_seen)
    });
    assert_eq!(n_seen, n_contacts);
    let peak = status_kb("VmHWM:");
    println!(
        "| {n_contacts} | {seconds:.2} | {:.0} | {:.0} (started at {:.0}) |",
        n_contacts as f64 / seconds,
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
    drop(child.stdin.take());
    let _ = child.wait();
}
