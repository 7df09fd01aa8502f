//! The runs API at scale: a SQLite store filled with runs (10,000, then 1,000,000), a server on
//! loopback, and N sequential requests per query over real HTTP: the first page, a page deep in
//! the list (after 900,000 newer runs), a flow filter, a record (e-mail) filter, and one run's
//! detail. Prints p50 and p99 per query and size; the detail must not grow with the runs kept.
//!
//! `cargo bench -p tether-server --bench runs_api` (runs from `TETHER_BENCH_RUNS`, default
//! 1,000,000; requests per query from `TETHER_BENCH_REQUESTS`, default 200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_server::{NoFlows, ServerConfig, serve_with};
use tether_service::Service;
use tether_store::{Seed, Store, Vault};
use tokio_util::sync::CancellationToken;

/// Flows the runs are spread over (each event has one run per flow).
const FLOWS: u64 = 10;
/// One run in this many has a three-step journal.
const JOURNAL_EVERY: u64 = 1_000;

fn main() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let total = env("TETHER_BENCH_RUNS", 1_000_000).clamp(20_000, 5_000_000);
    let requests = env("TETHER_BENCH_REQUESTS", 200).clamp(10, 10_000) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime builds");
    runtime.block_on(run(total, requests));
}

async fn run(total: u64, requests: usize) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let path = std::env::temp_dir().join(format!(
        "tether_runs_bench_{}_{}.sqlite",
        std::process::id(),
        fastrand::u64(..)
    ));
    let store = Store::open_sqlite(&path, Vault::from_key(&[3; 32]))
        .await
        .expect("a temporary SQLite store opens");
    let service = Service::for_store(store.clone());
    // `/api/v1` needs a login: the bench signs in as an owner with an API token, as a script
    // would.
    let owner = service
        .create_account(tether_service::accounts::NewAccount {
            email: "bench@example.com".into(),
            password: "a long bench password".into(),
            display_name: None,
            role: tether_store::Role::Owner,
        })
        .await
        .expect("the owner is created");
    let token = service
        .create_token(&owner.id, "bench")
        .await
        .expect("a token is created")
        .token;
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("a literal address"),
        ..ServerConfig::default()
    };
    let server = serve_with(config, service, Arc::new(NoFlows), CancellationToken::new())
        .await
        .expect("the server starts");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}")
            .parse()
            .expect("a token is a header value"),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client builds");
    let base = format!("{}/api/v1", server.base_url);

    println!("| runs | query | p50 ms | p99 ms | items |");
    println!("| ---: | --- | ---: | ---: | ---: |");
    let mut made = 0u64;
    for size in [10_000, total] {
        let started = Instant::now();
        store
            .seed_runs(Seed {
                runs: size - made,
                flows: FLOWS,
                journal_every: JOURNAL_EVERY,
                batch: 20_000,
            })
            .await
            .expect("the store is seeded");
        made = size;
        eprintln!(
            "seeded to {size} runs in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // The first journaled run: the same run is read at every size.
        let detail = format!("{base}/runs/{JOURNAL_EVERY}");
        let deep = tether_service::runs::run_cursor(i64::try_from(size / 10).unwrap_or(1));
        let mut queries = vec![
            ("first page".to_owned(), format!("{base}/runs?limit=50")),
            (
                "flow filter".to_owned(),
                format!("{base}/runs?limit=50&flow=flow-3"),
            ),
            (
                "record filter (e-mail)".to_owned(),
                format!("{base}/runs?limit=50&record=Person4242%40example.com"),
            ),
            (
                format!("deep page (after {} newer)", size - size / 10),
                format!("{base}/runs?limit=50&cursor={deep}"),
            ),
            (
                "deep page, flow filter".to_owned(),
                format!("{base}/runs?limit=50&flow=flow-3&cursor={deep}"),
            ),
            ("run detail".to_owned(), detail),
        ];
        if size == 10_000 {
            queries.retain(|(name, _)| name == "run detail" || name == "first page");
        }
        for (name, url) in queries {
            let (p50, p99, items) = measure(&http, &url, requests).await;
            println!(
                "| {size} | {name} | {:.2} | {:.2} | {items} |",
                ms(p50),
                ms(p99)
            );
        }
    }
    server.stop().await.expect("the server stops");
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Sends `n` GETs of `url` one after another; answers p50, p99 and the items of the last answer.
async fn measure(http: &reqwest::Client, url: &str, n: usize) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(n);
    let mut items = 0;
    for _ in 0..n {
        let started = Instant::now();
        let response = http.get(url).send().await.expect("the server answers");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await.expect("a JSON answer");
        times.push(started.elapsed());
        items = body["items"]
            .as_array()
            .map_or_else(|| body["steps"].as_array().map_or(0, Vec::len), Vec::len);
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.50), at(0.99), items)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
