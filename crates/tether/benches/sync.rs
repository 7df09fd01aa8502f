//! End-to-end sync throughput and memory, GHL → Details Flowers, printed as a table
//! (`cargo bench -p tether --bench sync`; `-- --quick` for a short run, `-- --sizes 10000,100000`).
//!
//! For each size N: `tether sim ghl --seed N` and `tether sim details-flowers` run as child
//! processes with rate limits off (their memory is theirs, not ours); this process is the engine:
//! a fresh SQLite store, the shipped contact recipe, GHL's change feed (`ghl_sync`) taking the
//! whole location in as events, and a worker (32 runs at a time) executing them into Details
//! Flowers. The figure is customers written per second from the first read to the last run
//! finished, every event durable in SQLite and every step journaled; and the engine's peak RSS
//! while syncing N. Each size runs in a fresh process of this bench (`--one N`), so no size's
//! memory carries over to the next. Flat memory as N grows means nothing holds the whole
//! location: what the engine keeps is bounded (SQLite's page caches, 2 MiB per connection).
//!
//! `CPU µs/customer` is the engine process's own CPU time (user + system, every thread; the
//! simulators are other processes) over the same interval, per customer written: what one record
//! costs the engine whatever the disk does (see `docs/perf/sync-profile.md`). `feed s` is when
//! the change feed had every event stored: far below `seconds`, runs are the bottleneck; close
//! to it, intake is.
//!
//! A second table is the ceiling: the same calls (the feed's pages; Details Flowers' find by
//! e-mail, then a create) in a bare loop, as many at a time, with no store at all (`--bare`), and
//! `engine/bare`, the share of that ceiling the durable engine reaches: the cost of durability.
//!
//! `-- --postgres postgres://postgres@127.0.0.1:5432/postgres --processes 1,3` runs the same job
//! on a fresh PostgreSQL database instead, with 1 and then 3 engine processes (`--work URL`, 8
//! runs at a time each) and the feed in a process of its own: scale-out. CPU is all of them.
//!
//! `TETHER_BENCH_CONCURRENCY=N` runs N runs at a time in each engine (and N calls at a time in
//! the bare loop) instead of 32, `tether serve`'s default `workers`.
//!
//! `TETHER_BENCH_SQL=1` also counts the engine's SQL statements (sqlx's query log) and prints
//! them per event on stderr, most frequent first: how many statements one record costs, and
//! which. Logging every statement slows the run; its figures are not comparable then.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tether_connectors::registry::Registry;
use tether_engine::executor::FlowSet;
use tether_engine::flow::parse_flow;
use tether_engine::invoke::Operations;
use tether_engine::worker::Worker;
use tether_store::{AuthKind, NewConnection, Store, Vault};
use tokio_util::sync::CancellationToken;

use support::{Process, drop_database, new_database, start};

const PIT: &str = "bench-pit";
const LOCATION: &str = "ve9EPM428h8vShlRW1KT";

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// This process's CPU time so far (user + system, all its threads), in microseconds, from
/// `/proc/self/stat` (fields 14 and 15, in clock ticks of 1/100 s: Linux's `USER_HZ`).
fn cpu_us() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // `after_name` starts at field 3 (the state), so fields 14 and 15 are at 11 and 12.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    ticks * 10_000
}

/// Counts the statements sqlx logs (target `sqlx::query`), by their SQL.
#[derive(Default)]
struct SqlCounter {
    counts: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SqlCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Statement(Option<String>);
        impl tracing::field::Visit for Statement {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "db.statement" || (field.name() == "summary" && self.0.is_none())
                {
                    self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut statement = Statement(None);
        event.record(&mut statement);
        if let Some(sql) = statement.0 {
            let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let short: String = sql.chars().take(110).collect();
            if let Ok(mut counts) = self.counts.lock() {
                *counts.entry(short).or_default() += 1;
            }
        }
    }
}

/// Resets the peak RSS (`VmHWM`) to the current RSS (Linux `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A shared [`SqlCounter`] as a layer.
struct ArcLayer(Arc<SqlCounter>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ArcLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        self.0.on_event(event, context);
    }
}

struct Row {
    n: usize,
    customers: usize,
    seconds: f64,
    peak_mib: f64,
    dead: i64,
    /// The engine's CPU time while syncing, µs.
    cpu_us: u64,
    /// Seconds until the feed had stored every event.
    feed_seconds: f64,
}

/// The same calls the engine makes for each contact (the feed's pages from GHL; for each contact
/// with an e-mail, Details Flowers' find by e-mail, then a create when none is found), 8 at a
/// time, in a bare loop: no store, no journal, no links. What the simulators and HTTP allow.
async fn bare_loop(ops: Arc<dyn Operations>) {
    let mut cursor = serde_json::Value::Null;
    let mut calls = tokio::task::JoinSet::new();
    loop {
        let output = ops
            .invoke(
                "ghl-main",
                "ghl.contact.updated",
                json!({"cursor": cursor, "limit": tether_engine::ghl_sync::DEFAULT_PAGE}),
            )
            .await
            .expect("the feed reads a page");
        let records = output["records"].as_array().cloned().unwrap_or_default();
        for contact in &records {
            let Some(email) = contact["email"]
                .as_str()
                .map(|email| email.trim().to_lowercase())
                .filter(|email| !email.is_empty())
            else {
                continue;
            };
            while calls.len() >= concurrency() {
                calls.join_next().await;
            }
            let name: Vec<&str> = ["firstName", "lastName"]
                .iter()
                .filter_map(|field| contact[*field].as_str())
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .collect();
            let input = json!({
                "ghl_contact_id": contact["id"],
                "email": email,
                "full_name": name.join(" "),
                "phone": contact["phone"],
            });
            let ops = ops.clone();
            calls.spawn(async move {
                let found = ops
                    .invoke(
                        "details-flowers-main",
                        "details_flowers.customer.find_by_email",
                        json!({"email": email}),
                    )
                    .await
                    .expect("find by e-mail");
                if found["items"].as_array().is_none_or(Vec::is_empty) {
                    ops.invoke(
                        "details-flowers-main",
                        "details_flowers.customer.create",
                        input,
                    )
                    .await
                    .expect("create");
                }
            });
        }
        let next = output["cursor"].clone();
        if next.is_null() || next == cursor || records.len() < tether_engine::ghl_sync::DEFAULT_PAGE
        {
            break;
        }
        cursor = next;
    }
    while calls.join_next().await.is_some() {}
}

/// The engine's sync of the location: GHL's change feed taking every contact in as events and
/// a worker (32 runs at a time) executing them into Details Flowers; answers the seconds, the
/// engine's CPU µs, and when the feed had stored every event.
async fn engine(store: &Store, ops: Arc<dyn Operations>, flow_text: &str) -> (f64, u64, f64) {
    let flows = recipe(flow_text);
    let mut worker = Worker::new(store.clone(), ops.clone(), flows.clone());
    worker.concurrency = concurrency();
    let shutdown = CancellationToken::new();

    reset_peak();
    let started = Instant::now();
    let cpu_started = cpu_us();
    let worker_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(shutdown).await })
    };
    let (feed_seconds, seconds) = feed_until_done(store, ops.as_ref(), &flows, started).await;
    let cpu = cpu_us().saturating_sub(cpu_started);
    shutdown.cancel();
    let _ = worker_task.await;
    (seconds, cpu, feed_seconds)
}

/// Runs executed at once by each engine: 32, as `tether serve`'s default `workers`, unless
/// `TETHER_BENCH_CONCURRENCY` says otherwise (the bare loop makes as many calls at once).
fn concurrency() -> usize {
    std::env::var("TETHER_BENCH_CONCURRENCY")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(32)
}

/// The shipped contact recipe as the only flow.
fn recipe(flow_text: &str) -> FlowSet {
    let flows = FlowSet::new();
    flows
        .insert(
            parse_flow(
                flow_text,
                Path::new("ghl-contact-to-df-customer.yaml"),
                None,
            )
            .expect("the shipped recipe parses"),
        )
        .expect("one flow");
    flows
}

/// GHL's change feed taking the whole location in as events, then the wait until no run is
/// pending; answers when the feed was done and when the runs were, in seconds from `started`.
async fn feed_until_done(
    store: &Store,
    ops: &dyn Operations,
    flows: &FlowSet,
    started: Instant,
) -> (f64, f64) {
    tether_engine::ghl_sync::sync_once(
        store,
        ops,
        flows,
        "ghl-main",
        "bench",
        tether_engine::ghl_sync::DEFAULT_PAGE,
        |_| {},
    )
    .await
    .expect("the feed reads the location");
    let feed_seconds = started.elapsed().as_secs_f64();
    loop {
        let counts = store.unfinished_run_counts().await.expect("counts");
        if counts.pending() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (feed_seconds, started.elapsed().as_secs_f64())
}

/// Where the engine keeps its state for one size.
#[derive(Debug, Clone)]
enum Mode {
    /// The engine in this process on a fresh SQLite file.
    Sqlite,
    /// No store: the same calls in a bare loop.
    Bare,
    /// `processes` engine processes (`--work URL`) on a fresh PostgreSQL database made through
    /// `admin` (the feed runs in this process).
    Postgres { admin: String, processes: usize },
}

impl Mode {
    /// The arguments that give this mode to `--one`.
    fn args(&self) -> Vec<String> {
        match self {
            Mode::Sqlite => Vec::new(),
            Mode::Bare => vec!["--bare".into()],
            Mode::Postgres { admin, processes } => vec![
                "--postgres".into(),
                admin.clone(),
                "--processes".into(),
                processes.to_string(),
            ],
        }
    }
}

/// A process's CPU time so far (user + system), in microseconds, from `/proc/PID/stat`.
fn cpu_us_of(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    (fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)) * 10_000
}

/// An engine process of the PostgreSQL mode (`--work URL`): a worker (32 runs at a time) on the
/// store at URL until its standard input closes.
fn run_worker(url: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let flow_text = include_str!("../../../flows/ghl-contact-to-df-customer.yaml");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = Store::connect(url, Vault::from_key(&[5; 32]))
            .await
            .expect("the bench's database");
        let ops: Arc<dyn Operations> = Arc::new(Registry::new(store.clone()).sharing_budgets());
        let mut worker = Worker::new(store.clone(), ops, recipe(flow_text));
        worker.concurrency = concurrency();
        let shutdown = CancellationToken::new();
        {
            let shutdown = shutdown.clone();
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
                shutdown.cancel();
            });
        }
        println!("WORKING");
        worker.run(shutdown).await;
        store.close().await;
    });
}

/// The PostgreSQL mode's engine: `processes` worker processes, the feed in this one; answers
/// the seconds, the CPU µs of all of them, and when the feed had stored every event.
async fn engine_on_postgres(
    store: &Store,
    url: &str,
    processes: usize,
    ops: Arc<dyn Operations>,
    flow_text: &str,
) -> (f64, u64, f64) {
    let flows = recipe(flow_text);
    let exe = std::env::current_exe().expect("the bench knows its path");
    let mut workers: Vec<Process> = (0..processes)
        .map(|_| {
            let mut child = Command::new(&exe)
                .args(["--work", url])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("a worker process starts");
            let stdout = child.stdout.take().expect("piped");
            let mut lines = BufReader::new(stdout).lines();
            assert!(
                lines.any(|line| line.is_ok_and(|line| line == "WORKING")),
                "a worker process started"
            );
            Process(child)
        })
        .collect();
    let pids: Vec<u32> = workers.iter().map(|worker| worker.0.id()).collect();
    let cpu_of_all = || cpu_us() + pids.iter().map(|pid| cpu_us_of(*pid)).sum::<u64>();
    let started = Instant::now();
    let cpu_started = cpu_of_all();
    let (feed_seconds, seconds) = feed_until_done(store, ops.as_ref(), &flows, started).await;
    let cpu = cpu_of_all().saturating_sub(cpu_started);
    for worker in &mut workers {
        // Closing its input stops it; it finishes what it holds and exits.
        drop(worker.0.stdin.take());
        let _ = worker.0.wait();
    }
    (seconds, cpu, feed_seconds)
}

async fn one(n: usize, flow_text: &str, mode: &Mode) -> Row {
    let n_text = n.to_string();
    let (_ghl, ghl_url) = start(
        &[
            "sim",
            "ghl",
            "--listen",
            "127.0.0.1:0",
            "--pit",
            PIT,
            "--seed",
            &n_text,
            "--rate-limit",
            "off",
        ],
        "GHL simulator listening on ",
    );
    let (_flowers, flowers_url) = start(
        &[
            "sim",
            "details-flowers",
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "off",
        ],
        "Details Flowers simulator listening on ",
    );
    let path = std::env::temp_dir().join(format!(
        "tether-bench-sync-{}-{n}.sqlite",
        std::process::id()
    ));
    let database = match mode {
        Mode::Postgres { admin, .. } => Some(new_database(admin).await),
        _ => None,
    };
    let store = match &database {
        Some((url, _)) => Store::connect(url, Vault::from_key(&[5; 32])).await,
        None => Store::open_sqlite(&path, Vault::from_key(&[5; 32])).await,
    }
    .expect("store");
    for (name, app, auth_kind, account, base_url, secret) in [
        (
            "ghl-main",
            "ghl",
            AuthKind::PrivateToken,
            Some(LOCATION),
            ghl_url.as_str(),
            PIT,
        ),
        (
            "details-flowers-main",
            "details_flowers",
            AuthKind::ApiKey,
            None,
            flowers_url.as_str(),
            "sim-api-key",
        ),
    ] {
        store
            .create_connection(NewConnection {
                name: name.into(),
                app: app.into(),
                auth_kind,
                account_id: account.map(str::to_owned),
                base_url: base_url.into(),
                scopes: Vec::new(),
                credentials: tether_core::Secret::new(secret),
                expires_at_ms: None,
            })
            .await
            .expect("connection");
        store
            .set_connection_settings(name, &json!({"rate_limit": "off"}))
            .await
            .expect("settings");
    }
    let ops: Arc<dyn Operations> = Arc::new(Registry::new(store.clone()));
    let (seconds, cpu, feed_seconds) = match (mode, &database) {
        (Mode::Bare, _) => {
            reset_peak();
            let started = Instant::now();
            let cpu_started = cpu_us();
            bare_loop(ops.clone()).await;
            let seconds = started.elapsed().as_secs_f64();
            (seconds, cpu_us().saturating_sub(cpu_started), seconds)
        }
        (Mode::Postgres { processes, .. }, Some((url, _))) => {
            reset_peak();
            engine_on_postgres(&store, url, *processes, ops, flow_text).await
        }
        _ => engine(&store, ops, flow_text).await,
    };
    let peak_mib = status_kb("VmHWM:") as f64 / 1024.0;
    let counts = store.run_counts().await.expect("counts");
    let registry = Registry::new(store.clone());
    let app = registry
        .rest_app("details-flowers-main")
        .await
        .expect("client");
    let customers = {
        use futures::TryStreamExt;
        let all: Vec<serde_json::Value> = app
            .list_stream("customer", Default::default())
            .try_collect()
            .await
            .expect("customers");
        all.len()
    };
    store.close().await;
    if let (Mode::Postgres { admin, .. }, Some((_, name))) = (mode, &database) {
        drop_database(admin, name).await;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Row {
        n,
        customers,
        seconds,
        peak_mib,
        dead: counts.dead,
        cpu_us: cpu,
        feed_seconds,
    }
}

/// Runs one size in this process and prints its row for the parent (`--one N`).
fn run_one(n: usize, mode: &Mode) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let counter = std::env::var("TETHER_BENCH_SQL")
        .is_ok_and(|value| value == "1")
        .then(|| {
            use tracing_subscriber::layer::SubscriberExt;
            let counter = Arc::new(SqlCounter::default());
            let subscriber = tracing_subscriber::registry()
                .with(
                    tracing_subscriber::filter::Targets::new()
                        .with_target("sqlx::query", tracing::Level::TRACE),
                )
                .with(ArcLayer(counter.clone()));
            tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
            counter
        });
    let flow_text = include_str!("../../../flows/ghl-contact-to-df-customer.yaml");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let row = runtime.block_on(one(n, flow_text, mode));
    if let Some(counter) = counter
        && let Ok(counts) = counter.counts.lock()
    {
        let mut sorted: Vec<(&String, &u64)> = counts.iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(a.1));
        let total: u64 = sorted.iter().map(|(_, count)| **count).sum();
        eprintln!("SQL statements per event ({n} events; BEGIN and COMMIT are not logged):");
        eprintln!("{:>8.2}  all", total as f64 / n as f64);
        for (sql, count) in sorted {
            eprintln!("{:>8.2}  {sql}", *count as f64 / n as f64);
        }
    }
    println!(
        "ROW {} {} {} {} {} {} {}",
        row.n, row.customers, row.seconds, row.peak_mib, row.dead, row.cpu_us, row.feed_seconds
    );
}

/// Runs one size in a fresh process (so one size's memory cannot carry over to the next) and
/// reads its row.
fn spawn_one(n: usize, mode: &Mode) -> Row {
    let output = Command::new(std::env::current_exe().expect("the bench knows its path"))
        .args(["--one", &n.to_string()])
        .args(mode.args())
        .stderr(Stdio::inherit())
        .output()
        .expect("the bench runs itself");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = stdout
        .lines()
        .find_map(|line| line.strip_prefix("ROW "))
        .unwrap_or_else(|| panic!("size {n} printed no row ({}): {stdout}", output.status))
        .split_whitespace()
        .collect();
    let field = |at: usize| fields.get(at).copied().unwrap_or_default();
    Row {
        n: field(0).parse().expect("n"),
        customers: field(1).parse().expect("customers"),
        seconds: field(2).parse().expect("seconds"),
        peak_mib: field(3).parse().expect("peak"),
        dead: field(4).parse().expect("dead"),
        cpu_us: field(5).parse().expect("cpu"),
        feed_seconds: field(6).parse().expect("feed seconds"),
    }
}

/// The sizes asked for (`--sizes 10000,100000`; `--quick`: 2,000 and 10,000).
fn sizes_of(args: &[String]) -> Vec<usize> {
    let quick = args.iter().any(|arg| arg == "--quick");
    args.iter()
        .position(|arg| arg == "--sizes")
        .and_then(|at| args.get(at + 1))
        .map(|text| text.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| {
            if quick {
                vec![2_000, 10_000]
            } else {
                vec![10_000, 100_000]
            }
        })
}

fn print_header() {
    println!(
        "{:>9} {:>10} {:>9} {:>12} {:>14} {:>5} {:>17} {:>7}",
        "contacts",
        "customers",
        "seconds",
        "customers/s",
        "peak RSS MiB",
        "dead",
        "CPU µs/customer",
        "feed s"
    );
}

fn print_row(row: &Row) {
    println!(
        "{:>9} {:>10} {:>9.1} {:>12.0} {:>14.1} {:>5} {:>17.0} {:>7.1}",
        row.n,
        row.customers,
        row.seconds,
        row.customers as f64 / row.seconds,
        row.peak_mib,
        row.dead,
        row.cpu_us as f64 / row.customers.max(1) as f64,
        row.feed_seconds
    );
}

/// The PostgreSQL tables (`--postgres ADMIN_URL`, `--processes 1,3`): for each number of engine
/// processes, the same columns as SQLite's. Peak RSS is the feed's process; CPU is all of them.
fn postgres_table(sizes: &[usize], admin: &str, processes: Option<&String>) {
    let counts: Vec<usize> = processes
        .map(|text| text.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 3]);
    for (at, &processes) in counts.iter().enumerate() {
        if at > 0 {
            println!();
        }
        println!(
            "End-to-end sync GHL → Details Flowers (rate limits off, PostgreSQL, {processes} \
             engine process(es) of {} runs at a time, the feed in another)",
            concurrency()
        );
        print_header();
        for &n in sizes {
            print_row(&spawn_one(
                n,
                &Mode::Postgres {
                    admin: admin.to_owned(),
                    processes,
                },
            ));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value_of = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1))
    };
    if let Some(url) = value_of("--work") {
        run_worker(url);
        return;
    }
    let postgres = value_of("--postgres").cloned();
    if let Some(n) = value_of("--one") {
        let mode = if args.iter().any(|arg| arg == "--bare") {
            Mode::Bare
        } else if let Some(admin) = postgres {
            Mode::Postgres {
                admin,
                processes: value_of("--processes")
                    .and_then(|text| text.parse().ok())
                    .unwrap_or(1),
            }
        } else {
            Mode::Sqlite
        };
        run_one(n.parse().expect("--one takes a number of contacts"), &mode);
        return;
    }
    if let Some(admin) = postgres {
        postgres_table(&sizes_of(&args), &admin, value_of("--processes"));
        return;
    }
    let sizes = sizes_of(&args);
    println!(
        "End-to-end sync GHL → Details Flowers (rate limits off, SQLite, {} runs at a time)",
        concurrency()
    );
    print_header();
    let mut engine_rates = Vec::new();
    for &n in &sizes {
        let row = spawn_one(n, &Mode::Sqlite);
        engine_rates.push(row.customers as f64 / row.seconds);
        print_row(&row);
    }

    println!();
    println!(
        "The ceiling: the same calls in a bare loop, no store ({} at a time); engine/bare is the \
         share of it the durable engine reaches",
        concurrency()
    );
    println!(
        "{:>9} {:>10} {:>9} {:>12} {:>17} {:>11}",
        "contacts", "customers", "seconds", "customers/s", "CPU µs/customer", "engine/bare"
    );
    for (&n, engine_rate) in sizes.iter().zip(engine_rates) {
        let row = spawn_one(n, &Mode::Bare);
        let rate = row.customers as f64 / row.seconds;
        println!(
            "{:>9} {:>10} {:>9.1} {:>12.0} {:>17.0} {:>11.2}",
            row.n,
            row.customers,
            row.seconds,
            rate,
            row.cpu_us as f64 / row.customers.max(1) as f64,
            engine_rate / rate
        );
    }
}
