//! Crash safety as a user would meet it: `tether serve` is killed with SIGKILL at random moments
//! during the initial sync of a 5,000-contact location, ten times, while contacts keep changing
//! in GHL (with no webhook to announce them); a second test does the same on a smaller location
//! while both services answer 10 % of requests with a 5xx, late. After a last restart, Details Flowers holds exactly
//! one customer per GHL contact with an e-mail, with its latest name, every task, note and
//! appointment of those contacts exactly once, and the dead-letter queue is empty.
//!
//! Everything is a separate process (`tether sim ghl`, `tether sim details-flowers`,
//! `tether serve`), as in production; the test reads the end state through Tether's own
//! connectors, from a second store of its own.
//!
//! The same runs with three `tether serve` processes sharing one PostgreSQL database, one of them
//! killed each time and started again while the others go on.
//!
//! `TETHER_CRASH_CONTACTS` changes the location's size and `TETHER_CRASH_SEED` replays a run's
//! kill moments (the seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tether_connectors::registry::Registry;
use tether_engine::invoke::Operations;
use tether_store::{AuthKind, NewConnection, Store, Vault};

use crate::cli::{Running, start_process};

pub(crate) const PIT: &str = "crash-pit";
const LOCATION: &str = "ve9EPM428h8vShlRW1KT";
/// The recipes that carry GHL into Details Flowers.
const FLOWS: &[&str] = &[
    "ghl-contact-to-df-customer.yaml",
    "ghl-task-to-df.yaml",
    "ghl-note-to-df-note.yaml",
    "ghl-appointment-to-df-delivery.yaml",
];

/// Where the crashing Tether keeps its state: a data folder (the secret key, and on SQLite the
/// database) and, for scale-out, a PostgreSQL database every process shares.
pub(crate) struct Place {
    pub(crate) data_dir: PathBuf,
    /// The PostgreSQL URL, and the admin URL and name to drop it with afterwards.
    pub(crate) postgres: Option<(String, String, String)>,
}

impl Place {
    /// `--database URL` when on PostgreSQL.
    fn database_args(&self) -> Vec<String> {
        match &self.postgres {
            Some((url, _, _)) => vec!["--database".into(), url.clone()],
            None => Vec::new(),
        }
    }

    pub(crate) fn tether(&self, args: &[&str]) {
        let output = Command::new(env!("CARGO_BIN_EXE_tether"))
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(self.database_args())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "tether {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub(crate) fn serve(&self, flows: &Path) -> Running {
        let database = self.database_args();
        let extra: Vec<&str> = database.iter().map(String::as_str).collect();
        let (running, _) = start_process(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--flows",
                &flows.display().to_string(),
                "--reconcile-every",
                "1s",
                "--data-dir",
                &self.data_dir.display().to_string(),
            ],
            &extra,
            "Tether serving on ",
        );
        running
    }

    /// Connects `ghl-main` (the simulator's private integration token) and
    /// `details-flowers-main` to the simulators at these URLs.
    pub(crate) fn connect_simulators(&self, ghl_url: &str, flowers_url: &str) {
        self.tether(&[
            "connect",
            "ghl",
            "--name",
            "ghl-main",
            "--pit",
            PIT,
            "--location",
            LOCATION,
            "--api-base",
            ghl_url,
        ]);
        self.tether(&[
            "connect",
            "details-flowers",
            "--name",
            "details-flowers-main",
            "--api-key",
            "sim-api-key",
            "--base-url",
            flowers_url,
        ]);
    }

    /// The crashing Tether's store, opened by the test to watch its runs.
    pub(crate) async fn store(&self) -> Store {
        let vault = Vault::load(&self.data_dir.join("secret.key")).unwrap();
        match &self.postgres {
            Some((url, _, _)) => Store::connect(url, vault).await.unwrap(),
            None => Store::open_sqlite(&self.data_dir.join("tether.sqlite"), vault)
                .await
                .unwrap(),
        }
    }
}

/// A new PostgreSQL database on 127.0.0.1:5432 (or `TETHER_TEST_POSTGRES`): its URL, the admin
/// URL and its name.
pub(crate) async fn new_postgres_database() -> (String, String, String) {
    use sqlx::Connection;
    let admin_url = std::env::var("TETHER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database = format!("tether_crash_{}_{}", std::process::id(), fastrand::u32(..));
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| {
            panic!("PostgreSQL at {admin_url} is needed (set TETHER_TEST_POSTGRES): {error}")
        });
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    (format!("{base}/{database}"), admin_url, database)
}

pub(crate) async fn drop_postgres_database(admin_url: &str, database: &str) {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

/// A store of the test's own, connected to both simulators without client-side limits.
async fn observer(dir: &Path, ghl: &str, flowers: &str) -> Registry {
    let store = Store::open_sqlite(&dir.join("observer.sqlite"), Vault::from_key(&[9; 32]))
        .await
        .unwrap();
    for (name, app, auth_kind, account, base_url, secret) in [
        (
            "ghl-main",
            "ghl",
            AuthKind::PrivateToken,
            Some(LOCATION),
            ghl,
            PIT,
        ),
        (
            "details-flowers-main",
            "details_flowers",
            AuthKind::ApiKey,
            None,
            flowers,
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
            .unwrap();
        store
            .set_connection_settings(name, &json!({"rate_limit": "off"}))
            .await
            .unwrap();
    }
    Registry::new(store)
}

/// Every GHL contact, read through the change feed.
async fn ghl_contacts(ops: &dyn Operations) -> Vec<Value> {
    let mut contacts = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = ops
            .invoke(
                "ghl-main",
                "ghl.contact.updated",
                json!({"cursor": cursor, "limit": 1000}),
            )
            .await
            .unwrap();
        let records = page["records"].as_array().unwrap();
        contacts.extend(records.iter().cloned());
        if records.len() < 1000 {
            return contacts;
        }
        cursor = page["cursor"].clone();
    }
}

/// Every record of a Details Flowers resource.
async fn df_all(registry: &Registry, resource: &str) -> Vec<Value> {
    use futures::TryStreamExt;
    let app = registry.rest_app("details-flowers-main").await.unwrap();
    app.list_stream(resource, Default::default())
        .try_collect()
        .await
        .unwrap()
}

/// How many records carry each value of `field`.
fn counts(records: &[Value], field: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        let key = record[field].as_str().unwrap_or_default().to_owned();
        *counts.entry(key).or_default() += 1;
    }
    counts
}

#[test]
fn sigkill_during_the_initial_sync_loses_and_duplicates_nothing() {
    crash_sync(5_000, false, Backend::Sqlite);
}

/// Scale-out: three `tether serve` processes share one PostgreSQL database, and one of them, at
/// random, is killed with SIGKILL and started again, ten times, during the initial sync of a
/// 10,000-contact location.
#[test]
fn sigkill_of_one_of_three_processes_on_postgres_loses_and_duplicates_nothing() {
    let _alone = crate::BROWSER_OR_SCALE_OUT
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    crash_sync(10_000, false, Backend::Postgres { processes: 3 });
}

/// Where the crashing Tether keeps its runs.
#[derive(Debug, Clone, Copy)]
enum Backend {
    /// One process on the data folder's SQLite file.
    Sqlite,
    /// `processes` processes on one PostgreSQL database.
    Postgres { processes: usize },
}

/// The same with both services answering 10 % of requests with a 5xx, late. Smaller, because a
/// debug build under faults is several times slower; `TETHER_CRASH_CONTACTS=5000` runs it at full size.
#[test]
fn sigkill_during_an_initial_sync_against_faulty_services_loses_and_duplicates_nothing() {
    crash_sync(1_000, true, Backend::Sqlite);
}

fn crash_sync(default_contacts: usize, faults: bool, backend: Backend) {
    let n_contacts: usize = std::env::var("TETHER_CRASH_CONTACTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default_contacts);
    let seed: u64 = std::env::var("TETHER_CRASH_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!(
        "crash test: {n_contacts} contacts, faults {faults}, {backend:?}, TETHER_CRASH_SEED={seed}"
    );
    let mut rng = fastrand::Rng::with_seed(seed);

    let n_text = n_contacts.to_string();
    let (_ghl, ghl_url) = start_process(
        &["sim", "ghl", "--listen", "127.0.0.1:0", "--pit", PIT],
        &["--seed", &n_text, "--rate-limit", "off"],
        "GHL simulator listening on ",
    );
    let (_flowers, flowers_url) = start_process(
        &["sim", "details-flowers", "--listen", "127.0.0.1:0"],
        &["--rate-limit", "off"],
        "Details Flowers simulator listening on ",
    );
    let dir = std::env::temp_dir().join(format!(
        "tether-crash-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    // The observer's HTTP client needs a TLS provider chosen, as the binary does at start.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (postgres, processes) = match backend {
        Backend::Sqlite => (None, 1),
        Backend::Postgres { processes } => {
            (Some(runtime.block_on(new_postgres_database())), processes)
        }
    };
    let place = Place {
        data_dir: dir.join("data"),
        postgres,
    };
    let flows_dir = dir.join("flows");
    std::fs::create_dir_all(&flows_dir).unwrap();
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    for flow in FLOWS {
        std::fs::copy(shipped.join(flow), flows_dir.join(flow)).unwrap();
    }
    place.connect_simulators(&ghl_url, &flowers_url);
    for name in ["ghl-main", "details-flowers-main"] {
        place.tether(&["connections", "set", name, "--rate-limit", "off"]);
    }

    let registry = runtime.block_on(observer(&dir, &ghl_url, &flowers_url));
    let seeded = runtime.block_on(ghl_contacts(&registry));
    let ids: Vec<String> = seeded
        .iter()
        .map(|contact| contact["id"].as_str().unwrap().to_owned())
        .collect();
    let n_with_email = seeded
        .iter()
        .filter(|contact| {
            contact["email"]
                .as_str()
                .is_some_and(|email| !email.is_empty())
        })
        .count();
    assert_eq!(ids.len(), n_contacts);

    // Both services misbehave throughout: 10 % of answers are 5xx and every answer is late.
    let faulty: &[(&String, &str)] = if faults {
        &[
            (
                &ghl_url,
                r#"{"error_rate": 0.1, "latency_ms": 2, "jitter_ms": 3}"#,
            ),
            (&flowers_url, r#"{"error_rate": 0.1, "latency_ms": 3}"#),
        ]
    } else {
        &[]
    };
    for (url, faults) in faulty {
        let status = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT"])
            .args(["-H", "Content-Type: application/json", "-d", faults])
            .arg(format!("{url}/__sim/faults"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&status.stdout), "200", "{url}");
    }

    // Ten lives, each ending with one process (of one, or of several sharing the database)
    // killed at a random moment and started again; between them, contacts change in GHL.
    let mut servers: Vec<Running> = (0..processes).map(|_| place.serve(&flows_dir)).collect();
    let mut renamed = BTreeSet::new();
    for life in 0..10 {
        let pause = Duration::from_millis(rng.u64(300..2_500));
        runtime.block_on(async { tokio::time::sleep(pause).await });
        for change in 0..3 {
            let id = &ids[rng.usize(..ids.len())];
            runtime
                .block_on(registry.invoke(
                    "ghl-main",
                    "ghl.contact.update",
                    json!({"contactId": id, "firstName": format!("Life{life}Change{change}")}),
                ))
                .unwrap();
            renamed.insert(id.clone());
        }
        let pause = Duration::from_millis(rng.u64(100..1_000));
        runtime.block_on(async { tokio::time::sleep(pause).await });
        // `Child::kill` is SIGKILL on Unix: no shutdown code runs.
        let victim = rng.usize(..processes);
        servers[victim].0.kill().unwrap();
        servers[victim].0.wait().unwrap();
        servers[victim] = place.serve(&flows_dir);
    }

    // The last life runs until the work is done: nothing pending, and the feed has read every
    // change (a pass every second finds nothing new for a while).
    let store = runtime.block_on(place.store());
    let started = Instant::now();
    let mut quiet_since: Option<(Instant, i64)> = None;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the sync did not settle in 15 minutes: {:?}",
            runtime.block_on(store.run_counts()).unwrap()
        );
        let counts = runtime.block_on(store.run_counts()).unwrap();
        let total = counts.done + counts.dead;
        match quiet_since {
            Some((since, seen)) if counts.pending() == 0 && seen == total => {
                // Quiet: either every contact is through, or (a bug) the sync stopped short,
                // which the checks below then name.
                if since.elapsed() > Duration::from_secs(4)
                    && (runtime.block_on(df_all(&registry, "customer")).len() >= n_with_email
                        || since.elapsed() > Duration::from_secs(90))
                {
                    break;
                }
            }
            _ => quiet_since = Some((Instant::now(), total)),
        }
        runtime.block_on(async { tokio::time::sleep(Duration::from_millis(500)).await });
    }
    let dead = runtime.block_on(store.dlq_list(10)).unwrap();
    assert!(dead.is_empty(), "dead-lettered: {dead:?}");

    // Details Flowers against GHL, record by record.
    let contacts = runtime.block_on(ghl_contacts(&registry));
    let with_email: BTreeMap<String, &Value> = contacts
        .iter()
        .filter(|contact| {
            contact["email"]
                .as_str()
                .is_some_and(|email| !email.is_empty())
        })
        .map(|contact| (contact["id"].as_str().unwrap().to_owned(), contact))
        .collect();
    let customers = runtime.block_on(df_all(&registry, "customer"));
    let by_contact = counts(&customers, "ghl_contact_id");
    assert_eq!(
        by_contact.len(),
        with_email.len(),
        "one customer per contact"
    );
    assert!(
        by_contact.values().all(|n| *n == 1),
        "no duplicate customer"
    );
    for customer in &customers {
        let contact = with_email[customer["ghl_contact_id"].as_str().unwrap()];
        let first = contact["firstName"].as_str().unwrap_or_default();
        assert!(
            customer["full_name"].as_str().unwrap().starts_with(first),
            "the latest name of {contact}: {customer}"
        );
    }
    assert!(
        renamed.iter().any(|id| with_email.contains_key(id)),
        "the test changed contacts that are synced"
    );
    let mut expected = BTreeMap::from([("task", 0), ("note", 0), ("delivery", 0)]);
    runtime.block_on(async {
        for id in with_email.keys() {
            for (list, field, resource) in [
                ("ghl.task.list", "tasks", "task"),
                ("ghl.note.list", "notes", "note"),
                ("ghl.contact.list_appointments", "events", "delivery"),
            ] {
                let items = registry
                    .invoke("ghl-main", list, json!({"contactId": id}))
                    .await
                    .unwrap();
                *expected.get_mut(resource).unwrap() += items[field].as_array().unwrap().len();
            }
        }
    });
    for (resource, field) in [
        ("task", "ghl_task_id"),
        ("note", "ghl_note_id"),
        ("delivery", "ghl_appointment_id"),
    ] {
        let records = runtime.block_on(df_all(&registry, resource));
        let by_source = counts(&records, field);
        assert_eq!(by_source.len(), expected[resource], "every {resource} once");
        assert!(
            by_source.values().all(|n| *n == 1),
            "no duplicate {resource}"
        );
    }
    println!(
        "crash test: {} customers, {expected:?} after 10 kills in {:.1?}",
        customers.len(),
        started.elapsed()
    );
    runtime.block_on(store.close());
    drop(servers);
    if let Some((_, admin_url, database)) = &place.postgres {
        runtime.block_on(drop_postgres_database(admin_url, database));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
