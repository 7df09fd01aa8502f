//! Polling triggers against the Details Flowers simulator over loopback: customers sharing one
//! timestamp, read in pages smaller than their number, are taken in exactly once across repeated
//! polls, a poll that fails half-way, and a cursor set back as after a crash; a held lease
//! refuses a second poller; customers created later are picked up once; and the shipped two-way
//! recipes with the GHL simulator write only real changes, field by field, and never an echo.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use tether_connectors::registry::Registry;
use tether_core::{ErrorKind, Secret};
use tether_engine::executor::FlowSet;
use tether_engine::flow::parse_flow;
use tether_engine::invoke::{InvokeError, Operations};
use tether_engine::poller::{PollOptions, Poller, poll_once, poll_once_with};
use tether_sim::details_flowers::{
    DEFAULT_API_KEY, DetailsFlowersConfig, DetailsFlowersSim, RunningDetailsFlowers,
};
use tether_store::{AuthKind, NewConnection, Store, Vault};
use tokio_util::sync::CancellationToken;

const FLOW: &str = r#"
id: df-poll
trigger:
  poll:
    operation: details_flowers.customer.new
    connection: df
    every: 1s
steps:
  - id: keep
    filter:
      when: "{{ true }}"
"#;

const SOURCE: &str = "details_flowers.customer.new";

/// Registry calls, failing the `fail_call`-th one (1-based; 0: never) as a dropped connection.
struct Flaky {
    registry: Registry,
    calls: AtomicUsize,
    fail_call: AtomicUsize,
}

impl Operations for Flaky {
    fn invoke<'a>(
        &'a self,
        connection: &'a str,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call == self.fail_call.load(Ordering::SeqCst) {
            return Box::pin(async {
                Err(InvokeError::new(ErrorKind::Transient, "connection reset"))
            });
        }
        self.registry.invoke(connection, operation, input)
    }
}

struct Setup {
    store: Store,
    flows: FlowSet,
    ops: Arc<Flaky>,
    registry: Registry,
    sim: RunningDetailsFlowers,
    /// Customer ids of every run leased so far by [`Setup::drain`], in lease order.
    seen: Vec<String>,
}

async fn setup(seed_customers: usize) -> Setup {
    // The simulator builds a reqwest client before ours does; ring goes in first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = DetailsFlowersSim::new(DetailsFlowersConfig {
        rate_limit: None,
        seed_customers,
        ..DetailsFlowersConfig::default()
    })
    .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
    .await
    .unwrap();
    let path = std::env::temp_dir().join(format!(
        "tether_engine_poller_{}_{}.sqlite",
        std::process::id(),
        fastrand::u64(..)
    ));
    let store = Store::open_sqlite(&path, Vault::from_key(&[4; 32]))
        .await
        .unwrap();
    store
        .create_connection(NewConnection {
            name: "df".into(),
            app: "details_flowers".into(),
            auth_kind: AuthKind::ApiKey,
            account_id: None,
            base_url: sim.base_url.clone(),
            scopes: Vec::new(),
            credentials: Secret::new(DEFAULT_API_KEY),
            expires_at_ms: None,
        })
        .await
        .unwrap();
    let flows = FlowSet::new();
    flows
        .insert(parse_flow(FLOW, Path::new("df-poll.yaml"), None).unwrap())
        .unwrap();
    let registry = Registry::new(store.clone());
    let ops = Arc::new(Flaky {
        registry: registry.clone(),
        calls: AtomicUsize::new(0),
        fail_call: AtomicUsize::new(0),
    });
    Setup {
        store,
        flows,
        ops,
        registry,
        sim,
        seen: Vec::new(),
    }
}

impl Setup {
    fn options(&self, owner: &str, limit: usize) -> PollOptions {
        PollOptions {
            limit,
            owner: owner.into(),
        }
    }

    /// Leases every queued run (for an hour, so none comes back) and records its customer id.
    async fn drain(&mut self) {
        let now = tether_store::now_ms();
        let runs = self
            .store
            .lease_runs("test", 100_000, now, 3_600_000)
            .await
            .unwrap();
        for run in runs {
            assert_eq!(run.flow_id, "df-poll");
            let event = self.store.event(run.event_id).await.unwrap();
            assert_eq!(event.source, SOURCE);
            assert_eq!(event.kind, "customer.new");
            self.seen
                .push(event.payload["id"].as_str().unwrap().to_owned());
        }
    }

    async fn all_customer_ids(&self) -> Vec<String> {
        let listed = self
            .registry
            .invoke(
                "df",
                "details_flowers.customer.list",
                json!({"limit": 10_000}),
            )
            .await
            .unwrap();
        let mut ids: Vec<String> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }

    fn seen_sorted(&self) -> Vec<String> {
        let mut seen = self.seen.clone();
        seen.sort();
        seen
    }
}

#[tokio::test]
async fn customers_sharing_a_timestamp_are_taken_in_once_across_pages_failures_and_crashes() {
    let mut setup = setup(10).await;
    let options = setup.options("poller-a", 3);
    let now = tether_store::now_ms();

    // The second page's call fails: the first page is in, the cursor after it.
    setup.ops.fail_call.store(2, Ordering::SeqCst);
    let error = poll_once_with(
        &setup.store,
        setup.ops.as_ref(),
        &setup.flows,
        "df-poll",
        now,
        &options,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transient, "{error}");
    setup.drain().await;
    assert_eq!(setup.seen.len(), 3);
    let after_first_page = setup
        .store
        .get_cursor("df-poll", SOURCE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after_first_page["id"], setup.seen[2].as_str());

    // The failed lease was given back, so the next poll goes on from there to the end.
    let report = poll_once_with(
        &setup.store,
        setup.ops.as_ref(),
        &setup.flows,
        "df-poll",
        now,
        &options,
    )
    .await
    .unwrap();
    assert!(!report.lease_held);
    assert_eq!(report.new_events, 7, "{report:?}");
    assert_eq!(report.pages, 3, "pages of 3, 3 and 1: {report:?}");
    setup.drain().await;
    assert_eq!(setup.seen_sorted(), setup.all_customer_ids().await);

    // A crash between intake and the cursor write: the cursor is back where the first page left
    // it. The records are read again and dropped by their dedup key.
    let current = setup.store.get_cursor("df-poll", SOURCE).await.unwrap();
    assert!(
        setup
            .store
            .set_cursor("df-poll", SOURCE, current.as_ref(), &after_first_page)
            .await
            .unwrap()
    );
    let report = poll_once_with(
        &setup.store,
        setup.ops.as_ref(),
        &setup.flows,
        "df-poll",
        now,
        &options,
    )
    .await
    .unwrap();
    assert_eq!(report.records, 7, "{report:?}");
    assert_eq!(report.new_events, 0, "{report:?}");
    assert_eq!(
        setup.store.get_cursor("df-poll", SOURCE).await.unwrap(),
        current
    );

    // Nothing new: one empty page, nothing taken in.
    let report = poll_once(
        &setup.store,
        setup.ops.as_ref(),
        &setup.flows,
        "df-poll",
        now,
    )
    .await
    .unwrap();
    assert_eq!((report.pages, report.records), (1, 0), "{report:?}");

    // Customers created after the last poll are picked up, once.
    for n in 0..2 {
        setup
            .registry
            .invoke(
                "df",
                "details_flowers.customer.create",
                json!({"email": format!("late{n}@example.com"), "full_name": format!("Late {n}")}),
            )
            .await
            .unwrap();
    }
    for _ in 0..2 {
        poll_once_with(
            &setup.store,
            setup.ops.as_ref(),
            &setup.flows,
            "df-poll",
            now,
            &options,
        )
        .await
        .unwrap();
    }
    setup.drain().await;
    let all = setup.all_customer_ids().await;
    assert_eq!(all.len(), 12);
    assert_eq!(setup.seen_sorted(), all, "each customer exactly once");
}

#[tokio::test]
async fn a_held_lease_refuses_a_second_poller() {
    let mut setup = setup(4).await;
    let now = tether_store::now_ms();
    assert!(
        setup
            .store
            .try_lease("poll:df-poll", "poller-a", now, now + 60_000)
            .await
            .unwrap()
    );
    let report = poll_once_with(
        &setup.store,
        setup.ops.as_ref(),
        &setup.flows,
        "df-poll",
        now,
        &setup.options("poller-b", 3),
    )
    .await
    .unwrap();
    assert!(report.lease_held);
    assert_eq!(report.pages, 0);
    assert_eq!(
        setup.ops.calls.load(Ordering::SeqCst),
        0,
        "nothing was read"
    );
    assert_eq!(
        setup.store.get_cursor("df-poll", SOURCE).await.unwrap(),
        None
    );

    // Once the holder gives it back, the other poller goes ahead.
    setup
        .store
        .release_lease("poll:df-poll", "poller-a")
        .await
        .unwrap();
    let report = poll_once_with(
        &setup.store,
        setup.ops.as_ref(),
        &setup.flows,
        "df-poll",
        now,
        &setup.options("poller-b", 3),
    )
    .await
    .unwrap();
    assert_eq!(report.new_events, 4, "{report:?}");
    setup.drain().await;
    assert_eq!(setup.seen.len(), 4);
}

#[tokio::test]
async fn unknown_and_non_poll_flows_are_refused() {
    let setup = setup(0).await;
    let error = poll_once(&setup.store, setup.ops.as_ref(), &setup.flows, "nope", 0)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert!(error.to_string().contains("nope"), "{error}");
}

#[tokio::test]
async fn the_poller_takes_in_every_customer_until_shut_down() {
    let setup = setup(25).await;
    let mut poller = Poller::new(setup.store.clone(), setup.ops.clone(), setup.flows.clone());
    poller.options.limit = 10;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { poller.run(shutdown).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let counts = setup.store.run_counts().await.unwrap();
        if counts.queued >= 25 {
            assert_eq!(counts.queued, 25, "{counts:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poller took in only {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap();
    let cursor = setup.store.get_cursor("df-poll", SOURCE).await.unwrap();
    assert!(cursor.is_some());
}

#[tokio::test]
async fn a_poll_refused_for_its_credentials_names_the_cause_and_marks_the_connection_revoked() {
    let setup = setup(3).await;
    // The key is replaced by one the service does not know.
    let stored = setup.store.connection("df").await.unwrap();
    assert!(
        setup
            .store
            .update_credentials(&stored.id, stored.version, &Secret::new("wrong-key"), None)
            .await
            .unwrap()
    );
    let error = poll_once(&setup.store, setup.ops.as_ref(), &setup.flows, "df-poll", 0)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    let described = error.describe();
    assert!(
        described.starts_with("polling details_flowers.customer.new failed: ")
            && described.contains("401"),
        "the cause is in the line: {described}"
    );
    assert!(!described.contains("wrong-key"), "{described}");

    // The running poller marks the connection.
    let poller = Poller::new(setup.store.clone(), setup.ops.clone(), setup.flows.clone());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { poller.run(shutdown).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let marked = loop {
        let connection = setup.store.connection("df").await.unwrap();
        if connection.status == tether_store::ConnectionStatus::Revoked {
            break connection;
        }
        assert!(tokio::time::Instant::now() < deadline, "never marked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let message = marked.status_message.unwrap();
    assert!(message.contains("401"), "{message}");
    assert!(marked.checked_at_ms.is_some());
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap();
}

/// Two-way sync with the shipped recipes does no damage: a GHL contact becomes a Details Flowers
/// customer; the poll that reads that customer back recognises Tether's own write and writes
/// nothing to GHL, cycle after cycle; a person's edit in Details Flowers reaches GHL with only
/// the changed field written; and GHL's report of that write changes nothing in Details Flowers.
#[tokio::test]
async fn two_way_sync_writes_only_real_changes_and_never_echoes() {
    use tether_engine::worker::{IdleReport, Worker, intake};
    use tether_sim::ghl::{GhlSim, GhlSimConfig, RateLimitConfig};
    use tether_store::StepStatus;

    let mut setup = setup(0).await;
    let ghl = GhlSim::new(GhlSimConfig {
        pits: vec!["pit-poller-test".into()],
        rng_seed: Some(9),
        rate_limit: RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        },
        ..GhlSimConfig::default()
    })
    .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
    .await
    .unwrap();
    let location_id = ghl.sim.world().config.location_id.clone();
    crate::executor::connect_simulators(
        &setup.store,
        &ghl.base_url,
        &location_id,
        "pit-poller-test",
        &setup.sim.base_url,
    )
    .await;
    let flows_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let flows = FlowSet::load_dir(&flows_dir, &tether_connectors::catalog()).unwrap();
    // The shipped recipes themselves run, so this test guards the files users get.
    setup.flows = flows.clone();
    let ops: Arc<dyn Operations> = Arc::new(setup.registry.clone());
    let worker = Worker::new(setup.store.clone(), ops.clone(), flows.clone());
    let done = |n| IdleReport {
        done: n,
        ..IdleReport::default()
    };
    let get_contact = |id: String| {
        let registry = setup.registry.clone();
        async move {
            let answer = registry
                .invoke("ghl-main", "ghl.contact.get", json!({"contactId": id}))
                .await
                .unwrap();
            answer.get("contact").cloned().unwrap_or(answer)
        }
    };
    // GHL writes since `seq`: what Tether sent to GHL, as GHL received it.
    let ghl_writes = |after: u64| -> Vec<(String, Value)> {
        ghl.sim
            .world()
            .log
            .since(after)
            .into_iter()
            .filter(|request| request.method != "GET" && !request.path.contains("/search"))
            .map(|request| {
                let body = serde_json::from_str(&request.body).unwrap_or(Value::Null);
                (format!("{} {}", request.method, request.path), body)
            })
            .collect()
    };
    let last_seq = || {
        ghl.sim
            .world()
            .log
            .since(0)
            .last()
            .map_or(0, |request| request.seq)
    };

    // A person creates a contact in GHL with a two-word first name and their own source.
    let contact = setup
        .registry
        .invoke(
            "ghl-main",
            "ghl.contact.create",
            json!({"firstName": "Mary Ann", "lastName": "Smith", "email": "mary.ann@example.com",
                   "phone": "+15550100", "source": "walk-in"}),
        )
        .await
        .unwrap();
    let contact_id = contact["id"].as_str().unwrap().to_owned();
    let mut payload = get_contact(contact_id.clone()).await;
    payload["type"] = json!("ContactCreate");
    intake(
        &setup.store,
        &flows,
        "ghl.webhook",
        "wh-1",
        "ContactCreate",
        &payload,
    )
    .await
    .unwrap();
    assert_eq!(
        worker.run_until_idle(tether_store::now_ms).await.unwrap(),
        done(1)
    );
    let customers = setup.all_customer_ids().await;
    assert_eq!(customers.len(), 1);
    let customer_id = customers[0].clone();
    let customer = |registry: Registry, id: String| async move {
        registry
            .invoke("df", "details_flowers.customer.get", json!({ "id": id }))
            .await
            .unwrap()
    };
    let customer_before = customer(setup.registry.clone(), customer_id.clone()).await;
    assert_eq!(customer_before["full_name"], "Mary Ann Smith");
    let contact_before = get_contact(contact_id.clone()).await;

    // Several poll cycles: the customer Tether wrote comes back once, as Tether's own write, and
    // starts no run; nothing is written to GHL and nothing changes anywhere.
    let seq = last_seq();
    let now = tether_store::now_ms();
    // One poll of the Details Flowers flow at minute `minute`, then every run it started.
    let poll_and_run = async |minute: i64| {
        let report = poll_once(
            &setup.store,
            ops.as_ref(),
            &flows,
            "df-customer-to-ghl-contact",
            now + minute * 60_000,
        )
        .await
        .unwrap();
        let ran = worker.run_until_idle(tether_store::now_ms).await.unwrap();
        (report, ran)
    };
    for cycle in 0..3 {
        let (_, ran) = poll_and_run(cycle).await;
        assert_eq!(ran, done(0), "cycle {cycle}: no real change, no run");
    }
    assert_eq!(ghl_writes(seq), [], "no write reached GHL");
    assert_eq!(get_contact(contact_id.clone()).await, contact_before);
    assert_eq!(
        customer(setup.registry.clone(), customer_id.clone()).await,
        customer_before
    );

    // A person changes the customer's phone in Details Flowers: the next poll writes that one
    // field to the same contact, and nothing else of it changes.
    let seq = last_seq();
    setup
        .registry
        .invoke(
            "df",
            "details_flowers.customer.update",
            json!({"id": customer_id, "phone": "+15550199"}),
        )
        .await
        .unwrap();
    let (report, ran) = poll_and_run(4).await;
    assert_eq!(report.new_events, 1, "{report:?}");
    assert_eq!(ran, done(1));
    assert_eq!(
        ghl_writes(seq),
        [(
            format!("PUT /contacts/{contact_id}"),
            json!({"phone": "+15550199"})
        )],
        "only the changed field is written, to the linked contact"
    );
    let contact_after = get_contact(contact_id.clone()).await;
    assert_eq!(contact_after["phone"], "+15550199");
    for field in [
        "firstName",
        "lastName",
        "email",
        "source",
        "tags",
        "dateAdded",
    ] {
        assert_eq!(
            contact_after[field], contact_before[field],
            "{field} is left as the person wrote it"
        );
    }

    // GHL reports that write back (ContactUpdate). Carrying the version Tether's write left, it is
    // recognised as Tether's own and starts no run; without a version (GHL's contact webhooks
    // carry no `dateUpdated`) the run finds the customer holds it already and writes nothing.
    let customer_edited = customer(setup.registry.clone(), customer_id.clone()).await;
    let mut echo = contact_after.clone();
    echo["type"] = json!("ContactUpdate");
    intake(
        &setup.store,
        &flows,
        "ghl.webhook",
        "wh-2",
        "ContactUpdate",
        &echo,
    )
    .await
    .unwrap();
    assert_eq!(
        worker.run_until_idle(tether_store::now_ms).await.unwrap(),
        done(0)
    );
    echo.as_object_mut().unwrap().remove("dateUpdated");
    intake(
        &setup.store,
        &flows,
        "ghl.webhook",
        "wh-3",
        "ContactUpdate",
        &echo,
    )
    .await
    .unwrap();
    assert_eq!(
        worker.run_until_idle(tether_store::now_ms).await.unwrap(),
        done(1)
    );
    let recent = setup.store.runs_recent(10).await.unwrap();
    let last = recent
        .iter()
        .filter(|summary| summary.run.flow_id == "ghl-contact-to-df-customer")
        .max_by_key(|summary| summary.run.id)
        .unwrap();
    let step = last
        .steps
        .iter()
        .find(|step| step.step_id == "upsert")
        .unwrap();
    assert_eq!(step.status, StepStatus::Skipped, "{:?}", step.output);
    assert_eq!(
        customer(setup.registry.clone(), customer_id.clone()).await,
        customer_edited
    );

    // A person renames the customer: the name is split into GHL's two fields, both written, and
    // the contact's source stays GHL's.
    let seq = last_seq();
    setup
        .registry
        .invoke(
            "df",
            "details_flowers.customer.update",
            json!({"id": customer_id, "full_name": "Mary Ann Smyth"}),
        )
        .await
        .unwrap();
    let (_, ran) = poll_and_run(5).await;
    assert_eq!(ran, done(1));
    let writes = ghl_writes(seq);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0].1,
        json!({"firstName": "Mary", "lastName": "Ann Smyth"})
    );
    assert_eq!(get_contact(contact_id.clone()).await["source"], "walk-in");
    assert_eq!(setup.all_customer_ids().await.len(), 1);

    // Customers a person adds in Details Flowers: one whose e-mail a GHL contact already has
    // (which Tether never linked) updates that contact field by field and keeps its source (the
    // `if_empty` policy); one GHL does not know becomes a new contact with Details Flowers as
    // its source.
    let lee = setup
        .registry
        .invoke(
            "ghl-main",
            "ghl.contact.create",
            json!({"firstName": "Lee", "lastName": "Park", "email": "lee.park@example.com",
                   "source": "referral"}),
        )
        .await
        .unwrap();
    let lee_id = lee["id"].as_str().unwrap().to_owned();
    let seq = last_seq();
    for (email, name, phone) in [
        ("lee.park@example.com", "Lee Park", "+15550123"),
        ("new.person@example.com", "New Person", "+15550124"),
    ] {
        setup
            .registry
            .invoke(
                "df",
                "details_flowers.customer.create",
                json!({"email": email, "full_name": name, "phone": phone}),
            )
            .await
            .unwrap();
    }
    let (_, ran) = poll_and_run(6).await;
    assert_eq!(ran, done(2));
    let writes = ghl_writes(seq);
    assert!(
        writes.contains(&(
            format!("PUT /contacts/{lee_id}"),
            json!({"phone": "+15550123"})
        )),
        "{writes:?}"
    );
    let lee_after = get_contact(lee_id).await;
    assert_eq!(lee_after["source"], "referral");
    assert_eq!(lee_after["firstName"], "Lee");
    let new_contact = writes
        .iter()
        .find(|(_, body)| body["email"] == "new.person@example.com")
        .unwrap();
    assert_eq!(new_contact.0, "POST /contacts/upsert", "{writes:?}");
    assert_eq!(new_contact.1["source"], "Details Flowers");
    assert_eq!(writes.len(), 2, "{writes:?}");
}

#[tokio::test]
async fn a_poll_passes_its_parameters_and_takes_in_each_note_of_one_contact_once() {
    use tether_sim::ghl::{GhlSim, GhlSimConfig, RateLimitConfig};

    let setup = setup(0).await;
    let ghl = GhlSim::new(GhlSimConfig {
        pits: vec!["pit-poller-notes".into()],
        rng_seed: Some(11),
        rate_limit: RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        },
        ..GhlSimConfig::default()
    })
    .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
    .await
    .unwrap();
    let location_id = ghl.sim.world().config.location_id.clone();
    crate::executor::connect_simulators(
        &setup.store,
        &ghl.base_url,
        &location_id,
        "pit-poller-notes",
        &setup.sim.base_url,
    )
    .await;
    let create = |input: Value| {
        setup
            .registry
            .invoke("ghl-main", "ghl.contact.create", input)
    };
    let ann = create(json!({"firstName": "Ann", "email": "ann@example.com"}))
        .await
        .unwrap();
    let bob = create(json!({"firstName": "Bob", "email": "bob@example.com"}))
        .await
        .unwrap();
    let note = |contact: &Value, body: &str| {
        setup.registry.invoke(
            "ghl-main",
            "ghl.note.create",
            json!({"contactId": contact["id"], "body": body}),
        )
    };
    note(&ann, "first").await.unwrap();
    note(&bob, "not Ann's").await.unwrap();
    note(&ann, "second").await.unwrap();

    let text = format!(
        r#"
id: ann-notes
trigger:
  poll:
    operation: ghl.contact.note.new
    connection: ghl-main
    every: 1m
    with: {{ contactId: "{}" }}
steps:
  - id: keep
    filter: {{ when: "{{{{ true }}}}" }}
"#,
        ann["id"].as_str().unwrap()
    );
    let flows = FlowSet::new();
    flows
        .insert(parse_flow(&text, Path::new("ann-notes.yaml"), None).unwrap())
        .unwrap();
    let ops: Arc<dyn Operations> = Arc::new(setup.registry.clone());
    let poll = || {
        poll_once(
            &setup.store,
            ops.as_ref(),
            &flows,
            "ann-notes",
            tether_store::now_ms(),
        )
    };
    let first = poll().await.unwrap();
    assert_eq!((first.records, first.new_events), (2, 2), "{first:?}");
    note(&ann, "third").await.unwrap();
    let second = poll().await.unwrap();
    assert_eq!(second.new_events, 1, "{second:?}");
    let mut bodies = Vec::new();
    for summary in setup.store.runs_recent(10).await.unwrap() {
        let event = setup.store.event(summary.run.event_id).await.unwrap();
        bodies.push(event.payload["body"].as_str().unwrap_or("?").to_owned());
    }
    bodies.sort();
    assert_eq!(bodies, ["first", "second", "third"]);

    // A poll flow without the operation's required parameter is refused when it is read.
    let missing = parse_flow(
        &text.replace(
            &format!(
                "    with: {{ contactId: \"{}\" }}\n",
                ann["id"].as_str().unwrap()
            ),
            "",
        ),
        Path::new("ann-notes.yaml"),
        Some(&tether_connectors::catalog()),
    );
    let problems = format!("{missing:?}");
    assert!(problems.contains("contactId"), "{problems}");
}

/// A step whose call is refused for the connection's credentials dead-letters its run and marks
/// the connection `revoked`, as a refused poll does: a person sees it on the connection.
#[tokio::test]
async fn a_step_refused_for_its_credentials_marks_the_connection_revoked() {
    use tether_engine::worker::{Worker, intake};
    let setup = setup(0).await;
    setup
        .flows
        .insert(
            parse_flow(
                "id: writer\ntrigger:\n  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }\n\
                 steps:\n  - id: customer\n    action:\n      operation: details_flowers.customer.create\n      \
                 connection: df\n      input: { email: \"{{ trigger.email }}\", full_name: \"Ada\" }\n",
                Path::new("writer.yaml"),
                None,
            )
            .unwrap(),
        )
        .unwrap();
    let stored = setup.store.connection("df").await.unwrap();
    assert!(
        setup
            .store
            .update_credentials(&stored.id, stored.version, &Secret::new("wrong-key"), None)
            .await
            .unwrap()
    );
    let payload =
        serde_json::json!({"type": "ContactCreate", "id": "c1", "email": "ada@example.com"});
    assert!(
        intake(
            &setup.store,
            &setup.flows,
            "ghl.webhook",
            "wh-1",
            "ContactCreate",
            &payload
        )
        .await
        .unwrap()
    );
    let ops: Arc<dyn tether_engine::invoke::Operations> = Arc::new(setup.registry.clone());
    let worker = Worker::new(setup.store.clone(), ops, setup.flows.clone());
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!(report.dead, 1, "{report:?}");
    let marked = setup.store.connection("df").await.unwrap();
    assert_eq!(marked.status, tether_store::ConnectionStatus::Revoked);
    let message = marked.status_message.unwrap();
    assert!(message.contains("401"), "{message}");
    assert!(!message.contains("wrong-key"), "{message}");
}
