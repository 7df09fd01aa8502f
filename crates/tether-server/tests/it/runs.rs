//! `/api/v1/runs` and `/api/v1/dead-letters` over real HTTP: runs executed by a real worker
//! against the Details Flowers simulator on loopback, read, searched, replayed and followed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tether_connectors::registry::Registry;
use tether_engine::executor::version_hex;
use tether_engine::flow::parse_flow;
use tether_engine::invoke::Operations;
use tether_engine::worker::{IdleReport, Worker, intake};
use tether_sim::details_flowers::RunningDetailsFlowers;

use crate::support::ApiHarness;

/// A GHL contact → Details Flowers customer flow; `FIXED` maps the e-mail, `BROKEN` reads a
/// field that is not there, so its runs are dead-lettered at the `customer` step.
const FIXED: &str = r#"
id: contact-to-customer
trigger:
  webhook: { app: ghl, events: [ContactCreate, ContactUpdate], connection: ghl-main }
steps:
  - id: has_email
    filter: { when: "{{ trigger.email is defined and trigger.email }}" }
  - id: customer
    map:
      fields:
        ghl_contact_id: "{{ trigger.id }}"
        email: "{{ trigger.email | trim | lower }}"
        full_name: "{{ full_name(trigger.firstName, trigger.lastName) }}"
  - id: upsert
    action:
      operation: details_flowers.customer.create
      connection: details-flowers-main
      input:
        ghl_contact_id: "{{ steps.customer.output.ghl_contact_id }}"
        email: "{{ steps.customer.output.email }}"
        full_name: "{{ steps.customer.output.full_name }}"
      match: { field: email, value: "{{ steps.customer.output.email }}" }
"#;

fn broken() -> String {
    FIXED.replace(
        "trigger.email | trim | lower",
        "trigger.emial | trim | lower",
    )
}

struct World {
    api: ApiHarness,
    flowers: RunningDetailsFlowers,
    registry: Registry,
    worker: Worker,
}

/// The API harness, the Details Flowers simulator with its connection, a worker over the
/// service's flows, and `flow_text` loaded; answers the world and the flow's version number.
async fn world(flow_text: &str) -> (World, i64) {
    let api = ApiHarness::start().await;
    let flowers = api.connect_details_flowers("details-flowers-main", 0).await;
    let store = api.service.store().clone();
    let version = load(&api, flow_text);
    let registry = Registry::new(store.clone());
    let ops: Arc<dyn Operations> = Arc::new(registry.clone());
    let worker = Worker::new(store, ops, api.service.flows().clone());
    (
        World {
            api,
            flowers,
            registry,
            worker,
        },
        version,
    )
}

/// Loads `flow_text` as the flow's current version; answers its number.
fn load(api: &ApiHarness, flow_text: &str) -> i64 {
    api.service
        .flows()
        .insert(parse_flow(flow_text, Path::new("flow.yaml"), None).unwrap())
        .unwrap()
}

impl World {
    async fn deliver(&self, key: &str, id: &str, email: &str) {
        self.deliver_payload(
            key,
            json!({
                "type": "ContactCreate", "id": id, "email": email,
                "firstName": "Ada", "lastName": "Lovelace",
            }),
        )
        .await;
    }

    async fn deliver_payload(&self, key: &str, payload: Value) {
        let flows = self.api.service.flows();
        assert!(
            intake(
                self.api.service.store(),
                flows,
                "ghl.webhook",
                key,
                "ContactCreate",
                &payload
            )
            .await
            .unwrap()
        );
    }

    async fn drain(&self) -> IdleReport {
        self.worker
            .run_until_idle(tether_store::now_ms)
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.api.http.get(self.api.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Value, key: Option<&str>) -> (u16, Value) {
        let mut request = self.api.http.post(self.api.url(path)).json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn cleanup(self) {
        self.api.cleanup().await;
        drop(self.flowers);
    }
}

#[tokio::test]
async fn a_dead_run_is_read_whole_found_by_email_and_replayed_once_on_the_fixed_version() {
    let (world, broken_version) = world(&broken()).await;
    world
        .deliver("wh-1", "contact-1", "Ada.Lovelace@Example.com")
        .await;
    assert_eq!(world.drain().await.dead, 1);

    // Found by the contact's e-mail in any case, and by its id.
    let (status, page) = world.get("/runs?record=ada.lovelace%40example.com").await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    let dead_run = items[0]["id"].as_i64().unwrap();
    assert_eq!(items[0]["status"], "dead");
    assert_eq!(items[0]["flowVersion"], version_hex(broken_version));
    assert_eq!(items[0]["flowVersion"].as_str().unwrap().len(), 16);
    // The list says what a person looks for: whose run it is, where it failed, how long it took.
    assert_eq!(items[0]["record"], "ada.lovelace@example.com");
    assert_eq!(items[0]["failedStep"], "customer");
    assert!(items[0]["durationMs"].as_i64().unwrap() >= 0, "{page}");
    let (_, by_id) = world.get("/runs?record=contact-1").await;
    assert_eq!(by_id["items"][0]["id"], dead_run);
    let (_, nobody) = world.get("/runs?record=grace%40example.com").await;
    assert_eq!(nobody["items"], json!([]));

    // The detail: the event, each step with its outcome, the dead letter.
    let (status, detail) = world.get(&format!("/runs/{dead_run}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["event"]["payload"]["value"]["id"], "contact-1");
    let steps: Vec<(&str, &str)> = detail["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            (
                step["stepId"].as_str().unwrap(),
                step["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(steps, [("has_email", "ok"), ("customer", "failed")]);
    assert!(
        detail["steps"][1]["error"]
            .as_str()
            .unwrap()
            .contains("trigger.emial"),
        "{detail}"
    );
    let letter = detail["deadLetter"]["id"].as_i64().unwrap();
    assert_eq!(detail["deadLetter"]["state"], "open");
    assert_eq!(detail["deadLetter"]["failedStep"], "customer");

    // Fixed, then replayed from the failed step on the current version.
    let fixed_version = load(&world.api, FIXED);
    let replay = json!({"from": "failed_step", "version": "current"});
    let path = format!("/dead-letters/{letter}/replay");
    let (status, answer) = world.post(&path, replay.clone(), Some("key-1")).await;
    assert_eq!(status, 200, "{answer}");
    let replay_run = answer["runId"].as_i64().unwrap();
    assert_eq!(answer["flowVersion"], version_hex(fixed_version));
    assert_eq!(answer["repeated"], false);
    assert_eq!(
        answer["message"],
        format!("queued as run {replay_run}; a running `tether serve` will execute it")
    );
    // The same request again (a retried POST) answers the same run.
    let (status, again) = world.post(&path, replay, Some("key-1")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["runId"].as_i64(), &again["repeated"]),
        (Some(replay_run), &json!(true))
    );
    // Another replay, with another version, is refused naming the first.
    let (status, refused) = world
        .post(
            &path,
            json!({"from": "start", "version": "ran"}),
            Some("key-2"),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "conflict");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("as run {replay_run}")),
        "{refused}"
    );

    // Retrying the dead run is replaying its dead letter: refused the same way.
    let (status, refused) = world
        .post(
            &format!("/runs/{dead_run}/retry"),
            json!({"from": "start", "version": "current"}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("as run {replay_run}")),
        "{refused}"
    );

    assert_eq!(world.drain().await.done, 1);
    let (status, refused) = world
        .post(
            &format!("/runs/{replay_run}/retry"),
            json!({"from": "failed_step", "version": "ran"}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("is done"),
        "{refused}"
    );
    let (_, detail) = world.get(&format!("/runs/{replay_run}")).await;
    assert_eq!(detail["run"]["status"], "done", "{detail}");
    let steps = detail["steps"].as_array().unwrap();
    let attempts: Vec<(&str, i64)> = steps
        .iter()
        .map(|step| {
            (
                step["stepId"].as_str().unwrap(),
                step["attempt"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [("has_email", 0), ("customer", 1), ("upsert", 1)],
        "the step before the failed one is kept, not run again"
    );
    let upsert = &steps[2];
    assert_eq!(
        upsert["input"]["value"]["email"], "ada.lovelace@example.com",
        "{upsert}"
    );
    assert!(upsert["durationMs"].is_i64());
    let customer_id = upsert["output"]["value"]["id"].as_str().unwrap().to_owned();
    let links = detail["links"].as_array().unwrap();
    assert_eq!(links.len(), 1, "{detail}");
    assert_eq!(
        (&links[0]["sourceId"], &links[0]["targetId"]),
        (&json!("contact-1"), &json!(customer_id))
    );
    // The customer exists in the app, and the run is found by it too.
    let found = world
        .registry
        .invoke(
            "details-flowers-main",
            "details_flowers.customer.find_by_email",
            json!({"email": "ada.lovelace@example.com"}),
        )
        .await
        .unwrap();
    assert_eq!(found["items"][0]["id"], customer_id.as_str());
    let (_, by_customer) = world.get(&format!("/runs?record={customer_id}")).await;
    assert_eq!(by_customer["items"][0]["id"], replay_run);

    // A payload whole.
    let row = upsert["row"].as_i64().unwrap();
    let (status, input) = world
        .get(&format!(
            "/runs/{replay_run}/steps/{row}/payload?part=input"
        ))
        .await;
    assert_eq!(status, 200, "{input}");
    assert_eq!(input["full_name"], "Ada Lovelace");
    world.cleanup().await;
}

#[tokio::test]
async fn a_replay_of_a_version_no_longer_loaded_is_refused_naming_both_versions() {
    let (world, current) = world(FIXED).await;
    let store = world.api.service.store();
    // A run queued by a flow file since changed: its version is not loaded any more.
    let gone = tether_engine::executor::version_number("0123456789abcdef").unwrap();
    store
        .record_event_with_runs(
            "ghl.webhook",
            "wh-1",
            "ContactCreate",
            &json!({"id": "contact-1", "email": "ada@example.com", "firstName": "Ada"}),
            tether_store::now_ms(),
            &[("contact-to-customer", gone)],
        )
        .await
        .unwrap();
    assert_eq!(world.drain().await.dead, 1);
    let (_, letters) = world.get("/dead-letters?state=open").await;
    let letter = letters["items"][0]["id"].as_i64().unwrap();
    assert_eq!(letters["items"][0]["flowVersion"], "0123456789abcdef");
    let path = format!("/dead-letters/{letter}/replay");

    // Before: the replay ran the same version and was dead-lettered again, forever.
    let (status, refused) = world
        .post(&path, json!({"from": "start", "version": "ran"}), None)
        .await;
    assert_eq!(status, 409, "{refused}");
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("0123456789abcdef") && detail.contains(&version_hex(current)),
        "{detail}"
    );
    // Before: `--flow-version 12` was taken as it was.
    let (status, refused) = world
        .post(&path, json!({"from": "start", "version": "12"}), None)
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("\"12\""),
        "{refused}"
    );
    let (status, refused) = world
        .post(
            &path,
            json!({"from": "start", "version": "fedcba9876543210"}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("no loaded version fedcba9876543210"),
        "{refused}"
    );

    let (status, answer) = world
        .post(&path, json!({"from": "start", "version": "current"}), None)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(world.drain().await.done, 1);
    world.cleanup().await;
}

#[tokio::test]
async fn dead_letters_are_listed_resolved_and_replayed_in_bulk() {
    let (world, _) = world(&broken()).await;
    for n in 0..3 {
        world
            .deliver(
                &format!("wh-{n}"),
                &format!("contact-{n}"),
                &format!("p{n}@example.com"),
            )
            .await;
    }
    assert_eq!(world.drain().await.dead, 3);
    let (status, first) = world.get("/dead-letters?limit=2").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().unwrap();
    let (_, second) = world
        .get(&format!("/dead-letters?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second.get("nextCursor").is_none(), "{second}");
    let oldest = second["items"][0]["id"].as_i64().unwrap();

    let resolve = format!("/dead-letters/{oldest}/resolve");
    let (status, resolved) = world
        .post(&resolve, json!({"note": "test contact, deleted"}), None)
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(
        (&resolved["state"], &resolved["resolutionNote"]),
        (&json!("resolved"), &json!("test contact, deleted"))
    );
    let (status, again) = world.post(&resolve, json!({}), None).await;
    assert_eq!(status, 409, "{again}");

    load(&world.api, FIXED);
    let (status, bulk) = world
        .post(
            "/dead-letters/replay",
            json!({"filter": {"reason": "EMIAL"}, "from": "start", "version": "current"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{bulk}");
    assert_eq!(
        bulk["queued"], 2,
        "the resolved one is not replayed: {bulk}"
    );
    assert_eq!(world.drain().await.done, 2);
    let (_, open) = world.get("/dead-letters?state=open").await;
    assert_eq!(open["items"], json!([]));

    // Bad parameters are named.
    for (path, named) in [
        ("/runs?status=finished", "status"),
        ("/runs?since=yesterday", "since"),
        ("/runs?limit=0", "limit"),
        ("/runs?cursor=bogus", "cursor"),
        ("/dead-letters?state=gone", "state"),
    ] {
        let (status, problem) = world.get(path).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().starts_with(named),
            "{path}: {problem}"
        );
    }
    let (status, problem) = world
        .post(
            &format!("/runs/{oldest}/retry"),
            json!({"from": "start"}),
            None,
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("version"),
        "{problem}"
    );
    world.cleanup().await;
}

#[tokio::test]
async fn live_run_events_deliver_a_runs_status_change() {
    let (world, _) = world(FIXED).await;
    let mut events = world
        .api
        .http
        .get(world.api.url("/runs/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert_eq!(
        events.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    world.deliver("wh-1", "contact-1", "ada@example.com").await;
    world.drain().await;
    let run = world.get("/runs").await.1["items"][0]["id"]
        .as_i64()
        .unwrap();
    let mut seen = String::new();
    let done = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(chunk) = events.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            let delivered = seen.split("\n\n").any(|event| {
                event.contains("event: run")
                    && event.contains(&format!("\"id\":{run},"))
                    && event.contains("\"status\":\"done\"")
            });
            if delivered {
                return;
            }
        }
    })
    .await;
    assert!(done.is_ok(), "no `done` event for run {run}: {seen}");
    drop(events);
    world.cleanup().await;
}

#[tokio::test]
async fn a_run_waiting_for_its_next_attempt_is_retried_now_as_it_would_be() {
    let (world, _) = world(FIXED).await;
    let faults = format!("{}/__sim/faults", world.flowers.base_url);
    let outage = json!({"error_rate": 1.0, "latency_ms": 0});
    let put = reqwest::Client::new()
        .put(&faults)
        .json(&outage)
        .send()
        .await;
    assert!(put.unwrap().status().is_success());
    world.deliver("wh-1", "contact-1", "ada@example.com").await;
    // One attempt, on a clock an hour ahead: its retry is due in an hour and then some.
    let later = tether_store::now_ms() + 3_600_000;
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let report = world
        .worker
        .run_until_idle(|| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                later
            } else {
                later - 7_200_000
            }
        })
        .await
        .unwrap();
    assert_eq!(report.retried, 1, "{report:?}");
    let (_, page) = world.get("/runs?status=retry").await;
    let run = page["items"][0]["id"].as_i64().unwrap();
    let due = page["items"][0]["nextAttemptAt"]
        .as_str()
        .unwrap()
        .to_owned();
    let retry = format!("/runs/{run}/retry");

    // Only what the next attempt would do anyway can be asked for.
    let (status, refused) = world
        .post(&retry, json!({"from": "start", "version": "current"}), None)
        .await;
    assert_eq!(status, 409, "{refused}");
    let healthy = json!({"error_rate": 0.0, "latency_ms": 0});
    let put = reqwest::Client::new()
        .put(&faults)
        .json(&healthy)
        .send()
        .await;
    assert!(put.unwrap().status().is_success());
    let (status, answer) = world
        .post(
            &retry,
            json!({"from": "failed_step", "version": "ran"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["runId"], run);
    let (_, detail) = world.get(&format!("/runs/{run}")).await;
    let now = tether_service::runs::time(tether_store::now_ms());
    assert!(
        detail["run"]["nextAttemptAt"].as_str().unwrap() <= now.as_str(),
        "due now, not at {due}: {detail}"
    );
    assert_eq!(world.drain().await.done, 1);
    world.cleanup().await;
}

#[tokio::test]
async fn a_large_event_is_cut_in_the_runs_detail_and_answered_whole_on_demand() {
    let (world, _) = world(FIXED).await;
    // 5 MB of notes, as a contact with a long history might carry.
    let notes = "n".repeat(5 * 1024 * 1024);
    world
        .deliver_payload(
            "wh-big",
            json!({
                "type": "ContactCreate", "id": "contact-big", "email": "big@example.com",
                "firstName": "Big", "lastName": "Notes", "notes": notes,
            }),
        )
        .await;
    world.drain().await;
    let (_, page) = world.get("/runs?record=big%40example.com").await;
    let run = page["items"][0]["id"].as_i64().unwrap();
    let (status, detail) = world.get(&format!("/runs/{run}")).await;
    assert_eq!(status, 200);
    let shown = &detail["event"]["payload"];
    assert_eq!(shown["truncated"], true, "the detail stays small");
    assert!(shown["bytes"].as_u64().unwrap() > 5 * 1024 * 1024);
    assert!(shown["value"].as_str().unwrap().len() <= 64 * 1024);
    let (status, whole) = world.get(&format!("/runs/{run}/event")).await;
    assert_eq!(status, 200);
    assert_eq!(whole["notes"].as_str().unwrap().len(), notes.len());
    assert_eq!(whole["email"], "big@example.com");
    let (status, missing) = world.get("/runs/999999/event").await;
    assert_eq!(status, 404, "{missing}");
    world.cleanup().await;
}
