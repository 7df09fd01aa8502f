//! Cron schedules on SQLite and PostgreSQL, with `now` passed in (no sleeping): a tick fires once
//! however often and from however many schedulers it is asked, after downtime only the latest
//! missed tick fires, a new flow does not fire ticks from before it existed, a tick starts only
//! its own flow, and the run it starts executes its steps.
//!
//! Two schedulers share one database through two separate `Store`s (two pools, as two
//! `tether serve` processes would have). Operations are the engine's seam: `Log` below is an
//! in-memory app whose one operation records what it was sent.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::{Value, json};
use sqlx::Connection;
use tether_core::ErrorKind;
use tether_engine::executor::FlowSet;
use tether_engine::flow::parse_flow;
use tether_engine::invoke::{InvokeError, Operations};
use tether_engine::scheduler::{CURSOR_KEY, KIND, SOURCE, Scheduler, TickReport};
use tether_engine::worker::{Worker, event_starts, intake, trigger_matches};
use tether_store::{RunStatus, StepStatus, Store, Vault};
use tokio_util::sync::CancellationToken;

/// Every five minutes: stamp the due time, then write it to the log.
const EVERY_FIVE: &str = r#"
id: every-five
trigger:
  schedule: { cron: "*/5 * * * *" }
steps:
  - id: stamp
    map:
      fields:
        at: "{{ trigger.scheduled_at }}"
  - id: record
    action:
      operation: log.entry.create
      connection: log-main
      input: { scheduled_at: "{{ steps.stamp.output.at }}" }
"#;

/// An in-memory log: `log.entry.create` appends its input and answers it with an id.
#[derive(Default)]
struct Log {
    entries: Mutex<Vec<Value>>,
}

impl Operations for Log {
    fn invoke<'a>(
        &'a self,
        _connection: &'a str,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        Box::pin(async move {
            if operation != "log.entry.create" {
                return Err(InvokeError::new(
                    ErrorKind::Permanent,
                    format!("unknown operation {operation}"),
                ));
            }
            let mut entries = self.entries.lock();
            let mut entry = input;
            entry["id"] = json!(format!("entry-{}", entries.len() + 1));
            entries.push(entry.clone());
            Ok(entry)
        })
    }
}

/// Two stores on one fresh database, and how to remove it afterwards.
struct Database {
    first: Store,
    second: Store,
    sqlite_file: Option<std::path::PathBuf>,
    pg_database: Option<(String, String)>,
}

impl Database {
    async fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!(
            "tether_engine_scheduler_{}_{}.sqlite",
            std::process::id(),
            fastrand::u64(..)
        ));
        let first = Store::open_sqlite(&path, Vault::from_key(&[5; 32]))
            .await
            .unwrap();
        let second = Store::open_sqlite(&path, Vault::from_key(&[5; 32]))
            .await
            .unwrap();
        Database {
            first,
            second,
            sqlite_file: Some(path),
            pg_database: None,
        }
    }

    async fn postgres() -> Self {
        let admin_url = std::env::var("TETHER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let database = format!(
            "tether_engine_sched_{}_{}",
            std::process::id(),
            fastrand::u64(..)
        );
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
        let url = format!("{base}/{database}");
        let first = Store::connect(&url, Vault::from_key(&[5; 32]))
            .await
            .unwrap();
        let second = Store::connect(&url, Vault::from_key(&[5; 32]))
            .await
            .unwrap();
        Database {
            first,
            second,
            sqlite_file: None,
            pg_database: Some((admin_url, database)),
        }
    }

    async fn cleanup(self) {
        self.first.close().await;
        self.second.close().await;
        if let Some(file) = self.sqlite_file {
            let _ = std::fs::remove_file(&file);
            let _ = std::fs::remove_file(file.with_extension("sqlite-wal"));
            let _ = std::fs::remove_file(file.with_extension("sqlite-shm"));
        }
        if let Some((admin_url, database)) = self.pg_database {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap();
        }
    }
}

/// Runs a test body on SQLite and on PostgreSQL: `backends!(name, |db: &Database| ...)`.
macro_rules! backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let database = Database::sqlite().await;
                ($body)(&database).await;
                database.cleanup().await;
            }

            #[tokio::test]
            async fn postgres() {
                let database = Database::postgres().await;
                ($body)(&database).await;
                database.cleanup().await;
            }
        }
    };
}

fn flows(texts: &[&str]) -> FlowSet {
    let flows = FlowSet::new();
    for text in texts {
        flows
            .insert(parse_flow(text, Path::new("flow.yaml"), None).unwrap())
            .unwrap();
    }
    flows
}

/// 1 May 2024 at `hour:minute:second` UTC.
fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, hour, minute, second)
        .single()
        .unwrap()
}

/// The runs of `flow_id`, oldest first.
async fn runs_of(store: &Store, flow_id: &str) -> Vec<tether_store::RunSummary> {
    let mut runs: Vec<_> = store
        .runs_recent(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|summary| summary.run.flow_id == flow_id)
        .collect();
    runs.reverse();
    runs
}

/// The `scheduled_at` of every tick event of `flow_id` that started a run, oldest first.
async fn fired_ticks(store: &Store, flow_id: &str) -> Vec<String> {
    let mut ticks = Vec::new();
    for summary in runs_of(store, flow_id).await {
        let event = store.event(summary.run.event_id).await.unwrap();
        assert_eq!((event.source.as_str(), event.kind.as_str()), (SOURCE, KIND));
        assert_eq!(
            event.event_key,
            format!(
                "{flow_id}@{}",
                event.payload["scheduled_at"].as_str().unwrap()
            )
        );
        ticks.push(event.payload["scheduled_at"].as_str().unwrap().to_owned());
    }
    ticks
}

fn fired(report: &TickReport) -> Vec<(&str, DateTime<Utc>)> {
    report
        .fired
        .iter()
        .map(|(flow_id, due)| (flow_id.as_str(), *due))
        .collect()
}

backends!(
    a_tick_fires_once_across_calls_and_schedulers,
    |db: &Database| {
        let first = db.first.clone();
        let second = db.second.clone();
        async move {
            let flows = flows(&[EVERY_FIVE]);
            let one = Scheduler::new(first.clone(), flows.clone());
            let two = Scheduler::new(second.clone(), flows.clone());
            // The flow is new at 10:02: its schedule starts then.
            let started = one.tick(at(10, 2, 0)).await.unwrap();
            assert_eq!(started.started, ["every-five"]);
            assert!(started.fired.is_empty());

            // 10:05 is due. Asked three times by one scheduler and, concurrently, by another.
            let mut fired_count = 0;
            let mut duplicates = 0;
            for _ in 0..3 {
                let (a, b) = tokio::join!(one.tick(at(10, 5, 30)), two.tick(at(10, 5, 30)));
                for report in [a.unwrap(), b.unwrap()] {
                    fired_count += report.fired.len();
                    duplicates += report.already_fired.len();
                    for (flow_id, due) in report.fired.iter().chain(&report.already_fired) {
                        assert_eq!((flow_id.as_str(), *due), ("every-five", at(10, 5, 0)));
                    }
                }
            }
            assert_eq!(fired_count, 1, "one scheduler records the tick");
            // The other either found it recorded or saw the cursor past it already.
            assert!(duplicates <= 1, "{duplicates}");
            assert_eq!(
                fired_ticks(&first, "every-five").await,
                ["2024-05-01T10:05:00Z"]
            );
            assert_eq!(
                first.get_cursor("every-five", CURSOR_KEY).await.unwrap(),
                Some(json!({"through": "2024-05-01T10:05:00.000Z"}))
            );

            // The run it started executes its steps.
            let log = Arc::new(Log::default());
            let worker = Worker::new(second.clone(), log.clone(), flows.clone());
            let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
            assert_eq!(report.done, 1, "{report:?}");
            let run = &runs_of(&first, "every-five").await[0];
            assert_eq!(run.run.status, RunStatus::Done);
            let steps: Vec<_> = run
                .steps
                .iter()
                .map(|step| (step.step_id.as_str(), step.status))
                .collect();
            assert_eq!(
                steps,
                [("stamp", StepStatus::Ok), ("record", StepStatus::Ok)]
            );
            assert_eq!(
                *log.entries.lock(),
                [json!({"id": "entry-1", "scheduled_at": "2024-05-01T10:05:00Z"})]
            );
            let event = first.event(run.run.event_id).await.unwrap();
            assert_eq!(
                event.payload,
                json!({
                    "scheduled_at": "2024-05-01T10:05:00Z",
                    "fired_at": "2024-05-01T10:05:30.000Z"
                })
            );
        }
    }
);

backends!(
    after_downtime_only_the_latest_missed_tick_fires,
    |db: &Database| {
        let store = db.first.clone();
        let other = db.second.clone();
        async move {
            let flows = flows(&[EVERY_FIVE]);
            let scheduler = Scheduler::new(store.clone(), flows.clone());
            scheduler.tick(at(10, 2, 0)).await.unwrap();
            let report = scheduler.tick(at(10, 5, 30)).await.unwrap();
            assert_eq!(fired(&report), [("every-five", at(10, 5, 0))]);

            // Three hours of downtime; another process comes up at 13:07.
            let restarted = Scheduler::new(other.clone(), flows.clone());
            let report = restarted.tick(at(13, 7, 0)).await.unwrap();
            assert_eq!(fired(&report), [("every-five", at(13, 5, 0))]);
            // 10:10 … 13:00 were missed and are skipped, not fired.
            assert_eq!(report.skipped, [("every-five".to_owned(), 35)]);
            assert!(
                restarted
                    .tick(at(13, 9, 59))
                    .await
                    .unwrap()
                    .fired
                    .is_empty()
            );

            // A scheduler whose clock lags behind never fires an old tick again.
            let lagging = scheduler.tick(at(10, 5, 30)).await.unwrap();
            assert!(
                lagging.fired.is_empty() && lagging.already_fired.is_empty(),
                "{lagging:?}"
            );
            assert!(scheduler.tick(at(12, 0, 0)).await.unwrap().fired.is_empty());
            assert_eq!(
                fired_ticks(&store, "every-five").await,
                ["2024-05-01T10:05:00Z", "2024-05-01T13:05:00Z"]
            );
        }
    }
);

backends!(a_new_flow_does_not_fire_past_ticks, |db: &Database| {
    let store = db.first.clone();
    async move {
        let flows = flows(&[EVERY_FIVE]);
        let scheduler = Scheduler::new(store.clone(), flows.clone());
        // First seen at 10:07: 10:05 (and every tick before) is from before it existed.
        let report = scheduler.tick(at(10, 7, 0)).await.unwrap();
        assert_eq!(report.started, ["every-five"]);
        assert!(report.fired.is_empty());
        assert!(
            scheduler
                .tick(at(10, 9, 59))
                .await
                .unwrap()
                .fired
                .is_empty()
        );
        assert_eq!(
            fired(&scheduler.tick(at(10, 10, 0)).await.unwrap()),
            [("every-five", at(10, 10, 0))]
        );

        // A flow added at 10:31 starts then, while the first one goes on.
        let hourly = EVERY_FIVE
            .replace("id: every-five", "id: hourly")
            .replace("*/5 * * * *", "@hourly");
        flows
            .insert(parse_flow(&hourly, Path::new("hourly.yaml"), None).unwrap())
            .unwrap();
        let report = scheduler.tick(at(10, 31, 0)).await.unwrap();
        assert_eq!(report.started, ["hourly"]);
        assert_eq!(fired(&report), [("every-five", at(10, 30, 0))]);
        assert_eq!(
            scheduler.next_due(at(10, 31, 0)),
            Some(at(10, 35, 0)),
            "the earliest next tick of any flow"
        );
        let report = scheduler.tick(at(11, 0, 5)).await.unwrap();
        assert_eq!(
            fired(&report),
            [("every-five", at(11, 0, 0)), ("hourly", at(11, 0, 0))]
        );
        assert!(fired_ticks(&store, "hourly").await == ["2024-05-01T11:00:00Z"]);
    }
});

#[tokio::test]
async fn a_tick_starts_only_its_own_flow() {
    let database = Database::sqlite().await;
    let store = database.first.clone();
    let other = EVERY_FIVE.replace("id: every-five", "id: other");
    let webhook = r#"
id: on-contact
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: keep
    filter: { when: "{{ true }}" }
"#;
    let flows = flows(&[EVERY_FIVE, &other, webhook]);
    let current = flows.current();
    let flow = |id: &str| {
        current
            .iter()
            .find(|(_, flow)| flow.id == id)
            .unwrap()
            .1
            .clone()
    };
    let key = "every-five@2024-05-01T10:05:00Z";
    assert!(event_starts(&flow("every-five"), SOURCE, key, KIND));
    assert!(!event_starts(&flow("other"), SOURCE, key, KIND));
    assert!(!event_starts(&flow("on-contact"), SOURCE, key, KIND));
    assert!(!event_starts(
        &flow("every-five"),
        SOURCE,
        key,
        "ContactCreate"
    ));
    assert!(!event_starts(&flow("every-five"), "manual", key, KIND));
    // Without the key no schedule flow can be told apart, so none matches.
    assert!(!trigger_matches(&flow("every-five"), SOURCE, KIND));

    assert!(
        intake(&store, &flows, SOURCE, key, KIND, &json!({}))
            .await
            .unwrap()
    );
    let runs = store.runs_recent(10).await.unwrap();
    let started: Vec<&str> = runs
        .iter()
        .map(|summary| summary.run.flow_id.as_str())
        .collect();
    assert_eq!(started, ["every-five"]);
    database.cleanup().await;
}

#[tokio::test]
async fn run_fires_the_missed_tick_at_once_and_stops_when_cancelled() {
    let database = Database::sqlite().await;
    let store = database.first.clone();
    let flows = flows(&[&EVERY_FIVE.replace("*/5 * * * *", "* * * * *")]);
    // Last fired a day ago: the latest due minute is missed and fires as soon as `run` starts.
    let yesterday = Utc::now() - chrono::Duration::days(1);
    let through = json!({ "through": yesterday.to_rfc3339() });
    assert!(
        store
            .set_cursor("every-five", CURSOR_KEY, None, &through)
            .await
            .unwrap()
    );
    let scheduler = Scheduler::new(store.clone(), flows);
    let shutdown = CancellationToken::new();
    let task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { scheduler.run(shutdown).await })
    };
    let fired = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if !runs_of(&store, "every-five").await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(fired.is_ok(), "the missed tick did not fire");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("run stops at once when cancelled")
        .unwrap();
    database.cleanup().await;
}
