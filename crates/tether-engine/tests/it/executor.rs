//! The run executor and workers on a real SQLite store: journaling, filters, retries that resume,
//! the dead-letter queue and its replay, duplicate deliveries, and links that make actions
//! exactly-once.
//!
//! Operations are the engine's own seam: `Shop` below is a tiny in-memory app (customers with
//! create, update, find-by-email, and a lookup), which counts every call.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tether_core::ErrorKind;
use tether_engine::executor::{FlowSet, version_number};
use tether_engine::flow::parse_flow;
use tether_engine::invoke::{InvokeError, Operations};
use tether_engine::worker::{IdleReport, Worker, intake};
use tether_store::{RunStatus, StepStatus, Store, Vault};
use tokio_util::sync::CancellationToken;

/// An in-memory app with customers.
#[derive(Default)]
struct Shop {
    state: Mutex<ShopState>,
    /// When set, a create waits (up to 300 ms) for a second concurrent create, so that a test
    /// can tell whether two runs ever create at the same time.
    create_gate: Mutex<Option<Arc<tokio::sync::Barrier>>>,
}

#[derive(Default)]
struct ShopState {
    customers: BTreeMap<String, Value>,
    /// Every call: operation and input.
    calls: Vec<(String, Value)>,
    /// Failures to answer, per operation, before it succeeds.
    failures: BTreeMap<String, VecDeque<InvokeError>>,
    /// Failures every call of the operation answers, until cleared.
    broken: BTreeMap<String, InvokeError>,
}

impl Shop {
    fn calls_of(&self, operation: &str) -> usize {
        let state = self.state.lock();
        state.calls.iter().filter(|(op, _)| op == operation).count()
    }

    fn customers(&self) -> Vec<Value> {
        self.state.lock().customers.values().cloned().collect()
    }

    fn fail_once(&self, operation: &str, kind: ErrorKind, message: &str) {
        let mut state = self.state.lock();
        state
            .failures
            .entry(operation.into())
            .or_default()
            .push_back(InvokeError::new(kind, message));
    }

    fn call(&self, operation: &str, input: Value) -> Result<Value, InvokeError> {
        let mut state = self.state.lock();
        state.calls.push((operation.to_owned(), input.clone()));
        if let Some(error) = state.broken.get(operation) {
            return Err(error.clone());
        }
        if let Some(error) = state
            .failures
            .get_mut(operation)
            .and_then(VecDeque::pop_front)
        {
            return Err(error);
        }
        match operation {
            "shop.customer.create" => {
                let id = format!("cust-{}", state.customers.len() + 1);
                let mut record = input;
                record["id"] = json!(id);
                state.customers.insert(id, record.clone());
                Ok(record)
            }
            "shop.customer.update" => {
                let id = input["id"].as_str().unwrap_or_default().to_owned();
                let Some(record) = state.customers.get_mut(&id) else {
                    return Err(InvokeError::new(ErrorKind::Permanent, "no such customer"));
                };
                for (key, value) in input.as_object().into_iter().flatten() {
                    record[key] = value.clone();
                }
                Ok(record.clone())
            }
            "shop.customer.find_by_email" => {
                let items: Vec<Value> = state
                    .customers
                    .values()
                    .filter(|record| record["email"] == input["email"])
                    .cloned()
                    .collect();
                Ok(json!({ "items": items }))
            }
            "shop.tier.get" => Ok(json!({ "tier": "gold" })),
            other => Err(InvokeError::new(
                ErrorKind::Permanent,
                format!("unknown operation {other}"),
            )),
        }
    }
}

impl Operations for Shop {
    fn invoke<'a>(
        &'a self,
        _connection: &'a str,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        Box::pin(async move {
            let gate = self.create_gate.lock().clone();
            if let Some(gate) = gate.filter(|_| operation == "shop.customer.create") {
                let _ = tokio::time::timeout(Duration::from_millis(300), gate.wait()).await;
            }
            self.call(operation, input)
        })
    }
}

/// Filter on e-mail, map, look the tier up, then create (or update by e-mail) the customer.
const FLOW: &str = r#"
id: contact-to-customer
trigger:
  webhook: { app: ghl, events: [ContactCreate, ContactUpdate], connection: ghl-main }
steps:
  - id: has_email
    filter: { when: "{{ trigger.email is defined and trigger.email }}" }
  - id: customer
    map:
      fields:
        email: "{{ trigger.email | lower }}"
        full_name: "{{ full_name(trigger.firstName, trigger.lastName) }}"
  - id: tier
    lookup:
      operation: shop.tier.get
      connection: shop-main
      input: { email: "{{ steps.customer.output.email }}" }
  - id: upsert
    action:
      operation: shop.customer.create
      connection: shop-main
      input:
        email: "{{ steps.customer.output.email }}"
        full_name: "{{ steps.customer.output.full_name }}"
        tier: "{{ steps.tier.output.tier }}"
      match: { field: email, value: "{{ steps.customer.output.email }}" }
"#;

struct Setup {
    pub(crate) store: Store,
    shop: Arc<Shop>,
    pub(crate) flows: FlowSet,
    pub(crate) worker: Worker,
    /// How far [`Setup::drain_later`] has moved the clock, in ms.
    offset_ms: AtomicI64,
}

async fn setup(flow_text: &str) -> Setup {
    let path = std::env::temp_dir().join(format!(
        "tether_engine_executor_{}_{}.sqlite",
        std::process::id(),
        fastrand::u64(..)
    ));
    let store = Store::open_sqlite(&path, Vault::from_key(&[3; 32]))
        .await
        .unwrap();
    let flows = FlowSet::new();
    flows
        .insert(parse_flow(flow_text, Path::new("flow.yaml"), None).unwrap())
        .unwrap();
    let shop = Arc::new(Shop::default());
    let worker = Worker::new(store.clone(), shop.clone(), flows.clone());
    Setup {
        store,
        shop,
        flows,
        worker,
        offset_ms: AtomicI64::new(0),
    }
}

impl Setup {
    async fn deliver(&self, key: &str, kind: &str, payload: Value) -> bool {
        intake(&self.store, &self.flows, "ghl.webhook", key, kind, &payload)
            .await
            .unwrap()
    }

    /// Delivers the creation of `n` contacts, `c0` to `c{n-1}`, each with an e-mail of its own.
    async fn deliver_contacts(&self, n: usize) {
        for index in 0..n {
            self.deliver(
                &format!("w{index}"),
                "ContactCreate",
                contact(&format!("c{index}"), &format!("p{index}@x.io"), "P"),
            )
            .await;
        }
    }

    /// Runs everything due now.
    async fn drain(&self) -> IdleReport {
        self.worker
            .run_until_idle(tether_store::now_ms)
            .await
            .unwrap()
    }

    /// Moves the clock an hour on (past any retry's backoff) and runs everything due then;
    /// retries this schedules are due at the next call.
    async fn drain_later(&self) -> IdleReport {
        let offset = self.offset_ms.fetch_add(3_600_000, Ordering::SeqCst) + 3_600_000;
        self.worker
            .run_until_idle(|| tether_store::now_ms() + offset)
            .await
            .unwrap()
    }

    async fn steps(&self) -> Vec<(String, StepStatus)> {
        let runs = self.store.runs_recent(1).await.unwrap();
        runs[0]
            .steps
            .iter()
            .map(|step| (step.step_id.clone(), step.status))
            .collect()
    }
}

fn contact(id: &str, email: &str, first: &str) -> Value {
    json!({ "id": id, "email": email, "firstName": first, "lastName": "Rose" })
}

fn ok(step: &str) -> (String, StepStatus) {
    (step.to_owned(), StepStatus::Ok)
}

fn skipped(step: &str) -> (String, StepStatus) {
    (step.to_owned(), StepStatus::Skipped)
}

#[tokio::test]
async fn a_run_executes_and_journals_every_step() {
    let setup = setup(FLOW).await;
    assert!(
        setup
            .deliver("w1", "ContactCreate", contact("c1", "Ann@X.io", "Ann"))
            .await
    );
    let report = setup.drain().await;
    assert_eq!(report.done, 1, "{report:?}");
    assert_eq!(
        setup.steps().await,
        [ok("has_email"), ok("customer"), ok("tier"), ok("upsert")]
    );
    assert_eq!(
        setup.shop.customers(),
        [json!({"id": "cust-1", "email": "ann@x.io", "full_name": "Ann Rose", "tier": "gold"})]
    );
    // What a person reading the run sees: each call's resolved input, each step's duration,
    // and the link the action wrote.
    let run = &setup.store.runs_recent(1).await.unwrap()[0];
    let inputs: Vec<Option<Value>> = run.steps.iter().map(|step| step.input.clone()).collect();
    assert_eq!(
        inputs,
        [
            None,
            None,
            Some(json!({"email": "ann@x.io"})),
            Some(json!({"email": "ann@x.io", "full_name": "Ann Rose", "tier": "gold"})),
        ]
    );
    assert!(run.steps.iter().all(|step| step.duration_ms.is_some()));
    let links = setup.store.run_links(run.run.id).await.unwrap();
    assert_eq!(
        links
            .iter()
            .map(|link| (
                link.step_id.as_str(),
                link.source_id.as_str(),
                link.target_id.as_str()
            ))
            .collect::<Vec<_>>(),
        [("upsert", "c1", "cust-1")]
    );
}

#[tokio::test]
async fn a_failed_step_is_journaled_with_its_input() {
    let setup = setup(FLOW).await;
    setup
        .shop
        .fail_once("shop.tier.get", ErrorKind::Transient, "connection reset");
    setup
        .deliver("w1", "ContactCreate", contact("c1", "ann@x.io", "Ann"))
        .await;
    setup.drain().await;
    let run = &setup.store.runs_recent(1).await.unwrap()[0];
    let failed = run
        .steps
        .iter()
        .find(|step| step.status == StepStatus::Failed)
        .expect("the failed attempt is journaled");
    assert_eq!(
        (failed.step_id.as_str(), failed.input.clone()),
        ("tier", Some(json!({"email": "ann@x.io"})))
    );
    assert!(failed.duration_ms.is_some());
}

#[tokio::test]
async fn a_filtered_event_completes_with_later_steps_skipped() {
    let setup = setup(FLOW).await;
    setup
        .deliver("w1", "ContactCreate", json!({"id": "c1", "email": ""}))
        .await;
    assert_eq!(setup.drain().await.done, 1);
    assert_eq!(
        setup.steps().await,
        [
            ok("has_email"),
            skipped("customer"),
            skipped("tier"),
            skipped("upsert")
        ]
    );
    assert!(setup.shop.state.lock().calls.is_empty());
}

#[tokio::test]
async fn a_transient_failure_retries_and_resumes_after_the_last_finished_step() {
    let setup = setup(FLOW).await;
    setup
        .shop
        .fail_once("shop.customer.find_by_email", ErrorKind::Transient, "503");
    setup
        .deliver("w1", "ContactCreate", contact("c1", "ann@x.io", "Ann"))
        .await;
    let first = setup.drain().await;
    assert_eq!((first.retried, first.done), (1, 0), "{first:?}");
    let run = &setup.store.runs_recent(1).await.unwrap()[0].run;
    assert_eq!(run.status, RunStatus::Retry);
    assert!(run.last_error.as_deref().unwrap().contains("503"));

    let second = setup.drain_later().await;
    assert_eq!(second.done, 1, "{second:?}");
    // The lookup finished in the first attempt and is not called again.
    assert_eq!(setup.shop.calls_of("shop.tier.get"), 1);
    assert_eq!(setup.shop.calls_of("shop.customer.create"), 1);
    assert_eq!(setup.shop.customers().len(), 1);
    let summary = &setup.store.runs_recent(1).await.unwrap()[0];
    assert_eq!(summary.run.attempts, 2);
    let upsert: Vec<_> = summary
        .steps
        .iter()
        .filter(|step| step.step_id == "upsert")
        .map(|step| (step.attempt, step.status))
        .collect();
    assert_eq!(upsert, [(1, StepStatus::Failed), (2, StepStatus::Ok)]);
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_and_a_replay_completes_it() {
    let setup = setup(FLOW).await;
    setup.shop.state.lock().broken.insert(
        "shop.customer.create".into(),
        InvokeError::new(ErrorKind::Permanent, "full_name is too long"),
    );
    setup
        .deliver("w1", "ContactCreate", contact("c1", "ann@x.io", "Ann"))
        .await;
    assert_eq!(setup.drain_later().await.dead, 1);
    // Not retried: a retry cannot fix it.
    assert_eq!(setup.shop.calls_of("shop.customer.create"), 1);
    let letters = setup.store.dlq_list(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].failed_step.as_deref(), Some("upsert"));
    assert!(
        letters[0].reason.contains("shop.customer.create")
            && letters[0].reason.contains("full_name is too long"),
        "{}",
        letters[0].reason
    );

    setup.shop.state.lock().broken.clear();
    setup
        .store
        .dlq_replay(
            letters[0].id,
            &tether_store::ReplayPlan {
                flow_version: letters[0].flow_version,
                keep_finished_steps: false,
                key: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(setup.drain().await.done, 1);
    assert_eq!(setup.shop.customers().len(), 1);
    assert_eq!(setup.store.run_counts().await.unwrap().dead, 1);
}

#[tokio::test]
async fn retries_stop_after_the_last_attempt() {
    let setup = setup(FLOW).await;
    setup.shop.state.lock().broken.insert(
        "shop.tier.get".into(),
        InvokeError::new(ErrorKind::Transient, "connection reset"),
    );
    setup
        .deliver("w1", "ContactCreate", contact("c1", "ann@x.io", "Ann"))
        .await;
    let mut retried = 0;
    for _ in 0..20 {
        let report = setup.drain_later().await;
        retried += report.retried;
        if report.dead == 1 {
            break;
        }
    }
    assert_eq!(retried, 7);
    let letters = setup.store.dlq_list(10).await.unwrap();
    assert!(
        letters[0].reason.starts_with("gave up after 8 attempts"),
        "{}",
        letters[0].reason
    );
    assert_eq!(setup.shop.calls_of("shop.tier.get"), 8);
}

#[tokio::test]
async fn a_mapping_error_is_dead_lettered_with_the_field() {
    let setup = setup(&FLOW.replace("trigger.email | lower", "trigger.emial | lower")).await;
    setup
        .deliver("w1", "ContactCreate", contact("c1", "ann@x.io", "Ann"))
        .await;
    assert_eq!(setup.drain().await.dead, 1);
    let letter = &setup.store.dlq_list(1).await.unwrap()[0];
    assert_eq!(letter.failed_step.as_deref(), Some("customer"));
    assert!(
        letter
            .reason
            .contains("email: undefined variable 'trigger.emial'"),
        "{}",
        letter.reason
    );
    assert!(setup.shop.state.lock().calls.is_empty());
}

#[tokio::test]
async fn the_same_event_delivered_twice_runs_once() {
    let setup = setup(FLOW).await;
    assert!(
        setup
            .deliver("w1", "ContactCreate", contact("c1", "ann@x.io", "Ann"))
            .await
    );
    assert!(
        !setup
            .deliver("w1", "ContactCreate", contact("c1", "ann@x.io", "Ann"))
            .await
    );
    assert_eq!(setup.drain().await.done, 1);
    assert_eq!(setup.store.run_counts().await.unwrap().done, 1);
    assert_eq!(setup.shop.calls_of("shop.customer.create"), 1);
}

#[tokio::test]
async fn an_unchanged_record_is_not_written_and_a_changed_one_is_updated() {
    let setup = setup(FLOW).await;
    setup
        .deliver("w1", "ContactCreate", contact("c1", "ann@x.io", "Ann"))
        .await;
    setup.drain().await;
    let link = setup
        .store
        .get_link("contact-to-customer/upsert", "ghl", "contact", "c1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (link.target_app.as_str(), link.target_id.as_str()),
        ("shop", "cust-1")
    );

    // The same content again (an echo, or a no-op update): nothing is written.
    setup
        .deliver("w2", "ContactUpdate", contact("c1", "ann@x.io", "Ann"))
        .await;
    assert_eq!(setup.drain().await.done, 1);
    assert_eq!(setup.steps().await[3], skipped("upsert"));
    assert_eq!(setup.shop.calls_of("shop.customer.create"), 1);
    assert_eq!(setup.shop.calls_of("shop.customer.update"), 0);
    assert_eq!(setup.shop.calls_of("shop.customer.find_by_email"), 1);

    // Changed content: the linked customer is updated, not created again.
    setup
        .deliver("w3", "ContactUpdate", contact("c1", "ann@x.io", "Anna"))
        .await;
    assert_eq!(setup.drain().await.done, 1);
    assert_eq!(setup.shop.calls_of("shop.customer.create"), 1);
    assert_eq!(setup.shop.calls_of("shop.customer.update"), 1);
    assert_eq!(
        setup.shop.customers(),
        [json!({"id": "cust-1", "email": "ann@x.io", "full_name": "Anna Rose", "tier": "gold"})]
    );
    let updated = setup
        .store
        .get_link("contact-to-customer/upsert", "ghl", "contact", "c1")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(updated.content_hash, link.content_hash);
}

#[tokio::test]
async fn an_older_version_arriving_late_does_not_overwrite_a_newer_one() {
    let setup = setup(FLOW).await;
    let version = |first: &str, at: &str| {
        let mut payload = contact("c1", "ann@x.io", first);
        payload["dateUpdated"] = json!(at);
        payload
    };
    // The newer change runs first; the older one (a late redelivery, or a reconciliation poll
    // that read the record before the change) arrives after it.
    setup
        .deliver(
            "w2",
            "ContactUpdate",
            version("Anna", "2026-01-01T10:00:02.000Z"),
        )
        .await;
    setup.drain().await;
    setup
        .deliver(
            "w1",
            "ContactUpdate",
            version("Ann", "2026-01-01T10:00:01.000Z"),
        )
        .await;
    assert_eq!(setup.drain().await.done, 1);
    assert_eq!(setup.steps().await[3], skipped("upsert"));
    assert_eq!(setup.shop.customers()[0]["full_name"], "Anna Rose");
    assert_eq!(setup.shop.calls_of("shop.customer.update"), 0);
    let link = setup
        .store
        .get_link("contact-to-customer/upsert", "ghl", "contact", "c1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.source_version, Some(1_767_261_602_000));

    // A webhook without `dateUpdated` is versioned by its `timestamp`; a later one still writes.
    let mut later = contact("c1", "ann@x.io", "Annie");
    later["timestamp"] = json!("2026-01-01T10:00:05.000Z");
    setup.deliver("w3", "ContactUpdate", later).await;
    assert_eq!(setup.drain().await.done, 1);
    assert_eq!(setup.shop.customers()[0]["full_name"], "Annie Rose");
}

#[tokio::test]
async fn a_match_updates_an_existing_record_instead_of_creating() {
    let setup = setup(FLOW).await;
    setup
        .shop
        .call(
            "shop.customer.create",
            json!({"email": "ann@x.io", "full_name": "Old"}),
        )
        .unwrap();
    setup
        .deliver("w1", "ContactCreate", contact("c9", "ann@x.io", "Ann"))
        .await;
    assert_eq!(setup.drain().await.done, 1);
    assert_eq!(setup.shop.calls_of("shop.customer.create"), 1);
    assert_eq!(setup.shop.customers().len(), 1);
    assert_eq!(setup.shop.customers()[0]["full_name"], "Ann Rose");
    let link = setup
        .store
        .get_link("contact-to-customer/upsert", "ghl", "contact", "c9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.target_id, "cust-1");
}

#[tokio::test]
async fn a_run_of_an_unknown_flow_version_is_dead_lettered() {
    let setup = setup(FLOW).await;
    let event = setup
        .store
        .record_event("ghl.webhook", "w1", "ContactCreate", &json!({}), 0)
        .await
        .unwrap();
    let stale = version_number("0123456789abcdef").unwrap();
    setup
        .store
        .enqueue_run("contact-to-customer", stale, event.id())
        .await
        .unwrap();
    assert_eq!(setup.drain().await.dead, 1);
    let letter = &setup.store.dlq_list(1).await.unwrap()[0];
    assert!(
        letter
            .reason
            .contains("version 0123456789abcdef is not loaded"),
        "{}",
        letter.reason
    );
}

#[tokio::test]
async fn events_that_match_no_flow_start_no_run() {
    let setup = setup(FLOW).await;
    setup.deliver("w1", "NoteCreate", json!({"id": "n1"})).await;
    assert_eq!(setup.store.run_counts().await.unwrap().pending(), 0);
}

#[tokio::test]
async fn a_running_worker_executes_new_runs_and_stops_on_cancel() {
    let setup = setup(FLOW).await;
    let shutdown = CancellationToken::new();
    let worker = setup.worker.clone();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });
    setup.deliver_contacts(5).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while setup.store.run_counts().await.unwrap().done < 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the worker finishes the runs");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the worker stops on cancel")
        .unwrap();
    assert_eq!(setup.shop.customers().len(), 5);
}

/// A worker leases its next runs while the ones it started are still going, so a run that
/// finishes is replaced at once rather than after a lease's commit; what it leased ahead and never
/// started goes back when it stops.
#[tokio::test]
async fn a_worker_leases_its_next_runs_while_its_runs_go_on_and_gives_them_back_on_stop() {
    let setup = setup(FLOW).await;
    // Every create waits (300 ms) for a third that never comes: both runs stay in flight.
    *setup.shop.create_gate.lock() = Some(Arc::new(tokio::sync::Barrier::new(3)));
    setup.deliver_contacts(6).await;
    let worker = Worker {
        concurrency: 2,
        ..setup.worker.clone()
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });
    // Two runs wait at the gate; two more are leased ahead of them meanwhile.
    tokio::time::timeout(Duration::from_secs(10), async {
        while setup.store.run_counts().await.unwrap().running < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the next runs are leased while the first two go on");
    assert_eq!(setup.shop.calls_of("shop.customer.create"), 0);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the worker stops on cancel")
        .unwrap();
    let counts = setup.store.run_counts().await.unwrap();
    assert_eq!(
        (counts.done, counts.running, counts.queued),
        (2, 0, 4),
        "the runs in flight finish; the ones leased ahead are given back: {counts:?}"
    );
}

#[test]
fn the_shipped_flows_load_as_a_set() {
    let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let set = FlowSet::load_dir(&flows, &tether_connectors::catalog()).unwrap();
    let ids: Vec<String> = set
        .current()
        .iter()
        .map(|(_, flow)| flow.id.clone())
        .collect();
    assert!(
        ids.contains(&"ghl-contact-to-df-customer".to_owned()),
        "{ids:?}"
    );
    for (number, flow) in set.current() {
        assert_eq!(version_number(&flow.version), Some(number));
        assert!(set.get(&flow.id, number).is_some());
    }
}

/// The shipped `ghl-contact-to-df-customer` flow, end to end over loopback: a contact created in
/// the GHL simulator, its ContactCreate delivered twice and a ContactUpdate once, through the
/// real registry into the Details Flowers simulator.
#[tokio::test]
async fn the_shipped_contact_flow_syncs_one_customer_with_the_latest_data() {
    let Simulated {
        store,
        flows,
        registry,
        worker,
        ..
    } = simulated("pit-engine-test", 0).await;

    let created = registry
        .invoke(
            "ghl-main",
            "ghl.contact.create",
            json!({"firstName": "Ann", "lastName": "Rose", "email": "Ann.Rose@Example.com"}),
        )
        .await
        .unwrap();
    let contact_id = created["id"].as_str().unwrap().to_owned();
    let mut payload = created.clone();
    payload["type"] = json!("ContactCreate");
    for _ in 0..2 {
        intake(
            &store,
            &flows,
            "ghl.webhook",
            "wh-1",
            "ContactCreate",
            &payload,
        )
        .await
        .unwrap();
    }
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!(
        report,
        IdleReport {
            done: 1,
            ..IdleReport::default()
        }
    );

    payload["type"] = json!("ContactUpdate");
    payload["firstName"] = json!("Anna");
    intake(
        &store,
        &flows,
        "ghl.webhook",
        "wh-2",
        "ContactUpdate",
        &payload,
    )
    .await
    .unwrap();
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!(
        report,
        IdleReport {
            done: 1,
            ..IdleReport::default()
        }
    );

    let customers = registry
        .invoke(
            "details-flowers-main",
            "details_flowers.customer.find_by_email",
            json!({"email": "ann.rose@example.com"}),
        )
        .await
        .unwrap();
    let items = customers["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{customers}");
    assert_eq!(items[0]["full_name"], "Anna Rose");
    assert_eq!(items[0]["ghl_contact_id"], contact_id.as_str());
    let all = registry
        .invoke(
            "details-flowers-main",
            "details_flowers.customer.list",
            json!({}),
        )
        .await
        .unwrap();
    let synced = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|customer| customer["ghl_contact_id"] == contact_id.as_str())
        .count();
    assert_eq!(synced, 1);
    assert_eq!(store.run_counts().await.unwrap().dead, 0);
}

#[tokio::test]
async fn concurrent_runs_for_one_record_create_it_once() {
    // No match: only the link stands between the runs and a duplicate.
    let without_match = FLOW.replace(
        "      match: { field: email, value: \"{{ steps.customer.output.email }}\" }\n",
        "",
    );
    assert_ne!(without_match, FLOW);
    let setup = setup(&without_match).await;
    *setup.shop.create_gate.lock() = Some(Arc::new(tokio::sync::Barrier::new(2)));
    for (key, first) in [("w1", "Ann"), ("w2", "Anna"), ("w3", "Annie")] {
        setup
            .deliver(key, "ContactUpdate", contact("c1", "ann@x.io", first))
            .await;
    }
    // One batch leases all three runs at once; the record's lease lets one of them write at a
    // time, and the others retry.
    let mut done = 0;
    for _ in 0..10 {
        done += setup.drain_later().await.done;
        if done == 3 {
            break;
        }
    }
    assert_eq!(done, 3);
    assert_eq!(setup.shop.calls_of("shop.customer.create"), 1);
    assert_eq!(setup.shop.customers().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_sync_under_injected_faults_ends_with_exactly_one_customer_each() {
    use futures::TryStreamExt;
    use tether_connectors::ghl::models::SearchRequest;
    use tether_connectors::rest::ListQuery;
    use tether_sim::ghl::faults::FaultsConfig;

    let Simulated {
        ghl,
        flowers,
        store,
        flows,
        registry,
        worker,
        ..
    } = simulated("pit-faults", 60).await;
    // 10 % of requests answer 500/503 and every request is slowed, on both services.
    ghl.sim.world().faults.lock().set(
        FaultsConfig {
            error_rate: 0.1,
            latency_ms: 2,
            jitter_ms: 8,
            ..FaultsConfig::default()
        },
        std::time::Instant::now(),
    );
    let admin = reqwest::Client::new();
    let answer = admin
        .put(format!("{}/__sim/faults", flowers.base_url))
        .json(&json!({"error_rate": 0.1, "latency_ms": 5}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text().await);

    // The initial sync: every contact, read through the faulty API, enters as an event.
    let contacts: Vec<_> = registry
        .ghl("ghl-main")
        .await
        .unwrap()
        .contacts()
        .search_stream(SearchRequest {
            page_limit: 25,
            ..SearchRequest::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(contacts.len(), 60);
    for contact in &contacts {
        let mut payload = serde_json::to_value(contact).unwrap();
        payload["type"] = json!("ContactCreate");
        intake(
            &store,
            &flows,
            "ghl.webhook",
            &format!("sync:{}", contact.id),
            "ContactCreate",
            &payload,
        )
        .await
        .unwrap();
    }
    // Drain, jumping the clock past every backoff rather than sleeping through it.
    let mut offset_ms = 0;
    for _ in 0..20 {
        let now_offset = offset_ms;
        worker
            .run_until_idle(move || tether_store::now_ms() + now_offset)
            .await
            .unwrap();
        if store.run_counts().await.unwrap().pending() == 0 {
            break;
        }
        offset_ms += 3_600_000;
    }
    let counts = store.run_counts().await.unwrap();
    assert_eq!((counts.pending(), counts.dead), (0, 0), "{counts:?}");
    let n_retried = store
        .runs_recent(100)
        .await
        .unwrap()
        .iter()
        .filter(|summary| summary.run.attempts > 1)
        .count();

    // Faults off; Details Flowers holds exactly one customer per GHL contact with an e-mail.
    let _ = admin
        .put(format!("{}/__sim/faults", flowers.base_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let customers: Vec<Value> = registry
        .rest_app("details-flowers-main")
        .await
        .unwrap()
        .list_stream("customer", ListQuery::default())
        .try_collect()
        .await
        .unwrap();
    let with_email: Vec<_> = contacts
        .iter()
        .filter(|contact| contact.email.as_deref().is_some_and(|e| !e.is_empty()))
        .collect();
    assert_eq!(
        customers.len(),
        with_email.len(),
        "one customer per contact with an e-mail"
    );
    for contact in with_email {
        let matching: Vec<_> = customers
            .iter()
            .filter(|customer| customer["ghl_contact_id"] == contact.id.as_str())
            .collect();
        assert_eq!(matching.len(), 1, "contact {}", contact.id);
        assert_eq!(
            matching[0]["email"],
            contact.email.as_deref().unwrap().to_lowercase()
        );
    }
    // The faults were felt: some runs needed more than one attempt.
    assert!(
        n_retried > 0,
        "no run was retried; were the faults injected?"
    );
}

/// Both simulators on loopback, a store with their two connections (named as the shipped flows
/// name them), the shipped flows, and a worker over the real connectors.
pub(crate) struct Simulated {
    pub(crate) ghl: tether_sim::ghl::RunningSim,
    pub(crate) flowers: tether_sim::details_flowers::RunningDetailsFlowers,
    pub(crate) store: Store,
    pub(crate) flows: FlowSet,
    pub(crate) registry: tether_connectors::registry::Registry,
    pub(crate) worker: Worker,
    _setup: Setup,
}

pub(crate) async fn simulated(pit: &str, seed_contacts: usize) -> Simulated {
    use tether_sim::details_flowers::{DetailsFlowersConfig, DetailsFlowersSim};
    use tether_sim::ghl::{GhlSim, GhlSimConfig, RateLimitConfig};

    // The simulators build a reqwest client before ours does; ring goes in first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let loopback: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let ghl = GhlSim::new(GhlSimConfig {
        pits: vec![pit.into()],
        seed_contacts,
        rng_seed: Some(5),
        rate_limit: RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        },
        ..GhlSimConfig::default()
    })
    .spawn(loopback, CancellationToken::new())
    .await
    .unwrap();
    let flowers = DetailsFlowersSim::new(DetailsFlowersConfig {
        rate_limit: None,
        ..DetailsFlowersConfig::default()
    })
    .spawn(loopback, CancellationToken::new())
    .await
    .unwrap();
    let flows_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let flows = FlowSet::load_dir(&flows_dir, &tether_connectors::catalog()).unwrap();
    let setup = setup(FLOW).await;
    let store = setup.store.clone();
    let location_id = ghl.sim.world().config.location_id.clone();
    connect_simulators(&store, &ghl.base_url, &location_id, pit, &flowers.base_url).await;
    let registry = tether_connectors::registry::Registry::new(store.clone());
    let worker = Worker::new(store.clone(), Arc::new(registry.clone()), flows.clone());
    Simulated {
        ghl,
        flowers,
        store,
        flows,
        registry,
        worker,
        _setup: setup,
    }
}

/// Stores the connections the shipped flows name: `ghl-main` (a PIT on the GHL simulator) and
/// `details-flowers-main` (the Details Flowers simulator's API key).
pub(crate) async fn connect_simulators(
    store: &Store,
    ghl_base: &str,
    location_id: &str,
    pit: &str,
    flowers_base: &str,
) {
    use tether_core::Secret;
    use tether_store::{AuthKind, NewConnection};

    let details_flowers_key = tether_sim::details_flowers::DEFAULT_API_KEY;
    for (name, app, auth_kind, account_id, base_url, secret) in [
        (
            "ghl-main",
            "ghl",
            AuthKind::PrivateToken,
            Some(location_id.to_owned()),
            ghl_base,
            pit,
        ),
        (
            "details-flowers-main",
            "details_flowers",
            AuthKind::ApiKey,
            None,
            flowers_base,
            details_flowers_key,
        ),
    ] {
        store
            .create_connection(NewConnection {
                name: name.into(),
                app: app.into(),
                auth_kind,
                account_id,
                base_url: base_url.into(),
                scopes: Vec::new(),
                credentials: Secret::new(secret),
                expires_at_ms: None,
            })
            .await
            .unwrap();
        // The simulators run without limits here, and send no rate-limit headers to learn
        // from; without this the client would keep to the published limits it was seeded with.
        store
            .set_connection_settings(name, &serde_json::json!({"rate_limit": "off"}))
            .await
            .unwrap();
    }
}
