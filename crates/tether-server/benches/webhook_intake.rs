//! Webhook intake throughput: N webhooks signed with the simulator's Ed25519 key, POSTed over
//! loopback by 16 concurrent clients to a server on a temporary SQLite store. Every 200 means the
//! event was durable (a synced commit) before the reply. Prints accepted/s and p50/p99 latency.
//!
//! `cargo bench -p tether-server` (N from `TETHER_BENCH_WEBHOOKS`, default 2,000, at most 100,000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use tether_server::{NoFlows, ServerConfig, serve};
use tether_store::{Store, Vault};
use tokio_util::sync::CancellationToken;

const CLIENTS: usize = 16;

fn main() {
    let n_webhooks = std::env::var("TETHER_BENCH_WEBHOOKS")
        .ok()
        .and_then(|text| text.parse::<usize>().ok())
        .unwrap_or(2_000)
        .clamp(1, 100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime builds");
    runtime.block_on(run(n_webhooks));
}

async fn run(n_webhooks: usize) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let path = std::env::temp_dir().join(format!(
        "tether_server_bench_{}_{}.sqlite",
        std::process::id(),
        fastrand::u64(..)
    ));
    let store = Store::open_sqlite(&path, Vault::from_key(&[3; 32]))
        .await
        .expect("a temporary SQLite store opens");
    let keys_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tether-sim/keys");
    let read = |name: &str| {
        std::fs::read_to_string(format!("{keys_dir}/{name}")).expect("the simulator's keys exist")
    };
    let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(&read("ghl-webhook-ed25519.pem"))
        .expect("the simulator's Ed25519 key parses");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("a literal address"),
        ghl_rsa_public_key_pem: Some(read("ghl-webhook-rsa.pub.pem")),
        ghl_ed25519_public_key_pem: Some(read("ghl-webhook-ed25519.pub.pem")),
        max_pending_runs: i64::MAX,
        ..ServerConfig::default()
    };
    let shutdown = CancellationToken::new();
    let server = serve(config, store.clone(), Arc::new(NoFlows), shutdown)
        .await
        .expect("the server starts");
    let url = format!("{}/hooks/ghl", server.base_url);

    // Signed in advance, so the figures measure the server, not the sender.
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let requests: Vec<(Vec<u8>, String)> = (0..n_webhooks)
        .map(|n| {
            let body = serde_json::to_vec(&serde_json::json!({
                "type": "ContactCreate",
                "locationId": "ve9EPM428h8vShlRW1KT",
                "id": format!("contact{n:06}"),
                "email": format!("bench{n}@example.com"),
                "timestamp": timestamp,
                "webhookId": format!("bench-{n}"),
            }))
            .expect("JSON serialises");
            let signature = ed25519_dalek::Signer::sign(&signing, &body);
            (body, BASE64.encode(signature.to_bytes()))
        })
        .collect();
    let requests = Arc::new(requests);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("a plain-HTTP client builds");

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client_idx in 0..CLIENTS {
        let requests = requests.clone();
        let client = client.clone();
        let url = url.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut n_failed = 0_usize;
            for (body, signature) in requests.iter().skip(client_idx).step_by(CLIENTS) {
                let sent = Instant::now();
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-ghl-signature", signature)
                    .body(body.clone())
                    .send()
                    .await;
                match answer {
                    Ok(response) if response.status().is_success() => {
                        latencies.push(sent.elapsed());
                    }
                    _ => n_failed += 1,
                }
            }
            (latencies, n_failed)
        });
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(n_webhooks);
    let mut n_failed = 0;
    while let Some(joined) = tasks.join_next().await {
        let (client_latencies, client_failed) = joined.expect("a client task finishes");
        latencies.extend(client_latencies);
        n_failed += client_failed;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| {
        let idx = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(idx).copied().unwrap_or_default()
    };

    println!("webhook intake (SQLite, synced commit before each 200, Ed25519 signatures)");
    println!("{:<28} {:>12}", "webhooks", n_webhooks);
    println!("{:<28} {:>12}", "concurrent clients", CLIENTS);
    println!("{:<28} {:>12}", "accepted", latencies.len());
    println!("{:<28} {:>12}", "failed", n_failed);
    println!(
        "{:<28} {:>12.0}",
        "accepted/s",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "{:<28} {:>12.2}",
        "p50 latency (ms)",
        percentile(0.50).as_secs_f64() * 1e3
    );
    println!(
        "{:<28} {:>12.2}",
        "p99 latency (ms)",
        percentile(0.99).as_secs_f64() * 1e3
    );

    let _ = server.stop().await;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
