//! The flows list over real HTTP: each flow's trigger, last run, runs of the last 24 hours,
//! open dead letters and unusable connections after real runs; deleting a flow while its
//! history stays; the shipped templates.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tether_core::Secret;
use tether_engine::executor::FlowSet;
use tether_engine::flow::parse_flow;
use tether_engine::worker::{Worker, intake};
use tether_store::{AuthKind, ConnectionStatus, NewConnection};

use crate::support::ApiHarness;

/// A schedule flow (no connection) whose map step says hello, or, `broken`, reads a field the
/// tick does not have, so its runs are dead-lettered.
fn scheduled(id: &str, broken: bool) -> String {
    let field = if broken { "missing" } else { "scheduled_at" };
    format!(
        "id: {id}\nname: {id} flow\ntrigger:\n  schedule: {{ cron: \"*/5 * * * *\" }}\nsteps:\n  \
         - id: greet\n    map:\n      fields:\n        said: \"{{{{ trigger.{field} | trim }}}}\"\n"
    )
}

/// A flow starting from GHL's webhooks through `ghl-main`, writing through `nowhere`.
const GHL_FLOW: &str = r#"id: ghl-flow
name: From GHL
trigger:
  webhook: { app: ghl, events: [ContactCreate, ContactUpdate], connection: ghl-main }
steps:
  - id: upsert
    action:
      operation: details_flowers.customer.create
      connection: nowhere
      input:
        email: "{{ trigger.email }}"
        full_name: "{{ trigger.firstName }}"
"#;

async fn tick(api: &ApiHarness, flow: &str, at: &str) {
    assert!(
        intake(
            api.service.store(),
            api.service.flows(),
            tether_engine::scheduler::SOURCE,
            &format!("{flow}@{at}"),
            tether_engine::scheduler::KIND,
            &json!({ "scheduled_at": at }),
        )
        .await
        .unwrap()
    );
}

async fn get(api: &ApiHarness, path: &str) -> (u16, Value) {
    let response = api.http.get(api.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(api: &ApiHarness, yaml: &str) {
    let response = api
        .http
        .post(api.url("/flows"))
        .header("content-type", "application/yaml")
        .body(yaml.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

fn entry<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|flow| flow["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed: {list}"))
}

#[tokio::test]
async fn the_list_shows_each_flows_runs_dead_letters_and_unusable_connections() {
    let api = ApiHarness::start().await;
    api.service
        .store()
        .create_connection_with_status(
            NewConnection {
                name: "ghl-main".into(),
                app: "ghl".into(),
                auth_kind: AuthKind::OAuth2,
                account_id: Some("loc-1".into()),
                base_url: "http://127.0.0.1:9".into(),
                scopes: Vec::new(),
                credentials: Secret::new("{}"),
                expires_at_ms: None,
            },
            ConnectionStatus::Revoked,
            Some("the app was uninstalled"),
        )
        .await
        .unwrap();

    // `ok-flow` is published through the API; `bad-flow` and `ghl-flow` stay drafts (their
    // problems are saved with them), and `bad-flow` runs from the flow set directly.
    create(&api, &scheduled("ok-flow", false)).await;
    let published = api
        .http
        .post(api.url("/flows/ok-flow/publish"))
        .json(&json!({"message": "first"}))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 200);
    create(&api, &scheduled("bad-flow", true)).await;
    api.service
        .flows()
        .insert(parse_flow(&scheduled("bad-flow", true), Path::new("bad.yaml"), None).unwrap())
        .unwrap();
    create(&api, GHL_FLOW).await;

    for flow in ["ok-flow", "bad-flow"] {
        tick(&api, flow, "2026-01-01T10:00:00.000Z").await;
        tick(&api, flow, "2026-01-01T10:05:00.000Z").await;
    }
    let worker = Worker::new(
        api.service.store().clone(),
        Arc::clone(api.service.ops()),
        api.service.flows().clone(),
    );
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!((report.done, report.dead), (2, 2), "{report:?}");

    let (status, list) = get(&api, "/flows").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flow| flow["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bad-flow", "ghl-flow", "ok-flow"]);

    // ok-flow finished twice, bad-flow died twice.
    let ok = entry(&list, "ok-flow");
    assert_eq!(ok["runs24h"], json!({"ok": 2, "failed": 0}), "{ok}");
    assert_eq!(ok["openDeadLetters"], 0);
    assert_eq!(ok["lastRun"]["status"], "done");
    assert!(ok["lastRun"]["id"].as_i64().unwrap() > 0);
    assert!(ok["lastRun"]["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        ok["triggerInfo"],
        json!({"kind": "schedule", "events": [], "cron": "*/5 * * * *"})
    );
    assert_eq!(ok["unhealthyConnections"], json!([]));
    assert_eq!(ok["unpublishedChanges"], false);

    let bad = entry(&list, "bad-flow");
    assert_eq!(bad["runs24h"], json!({"ok": 0, "failed": 2}), "{bad}");
    assert_eq!(bad["openDeadLetters"], 2);
    assert_eq!(bad["lastRun"]["status"], "dead");
    assert_eq!(bad["unpublishedChanges"], true);

    let ghl = entry(&list, "ghl-flow");
    assert_eq!(ghl.get("lastRun"), None, "{ghl}");
    assert_eq!(ghl["runs24h"], json!({"ok": 0, "failed": 0}));
    assert_eq!(
        ghl["triggerInfo"],
        json!({"kind": "webhook", "app": "ghl", "events": ["ContactCreate", "ContactUpdate"],
               "connection": "ghl-main"})
    );
    assert_eq!(
        ghl["unhealthyConnections"],
        json!([
            {"name": "ghl-main", "health": "revoked", "message": "the app was uninstalled"},
            {"name": "nowhere", "health": "missing", "message": "no connection is named \"nowhere\""},
        ])
    );

    // Pages carry the same statistics: the second page of one starts after the first.
    let (_, first) = get(&api, "/flows?limit=1").await;
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let (_, second) = get(&api, &format!("/flows?limit=1&cursor={cursor}")).await;
    assert_eq!(second["items"][0]["id"], "ghl-flow");
    assert_eq!(first["items"][0]["openDeadLetters"], 2);

    // Enabling answers the entry with its statistics too.
    let disabled: Value = api
        .http
        .post(api.url("/flows/ok-flow/disable"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["runs24h"]["ok"], 2, "{disabled}");
    api.cleanup().await;
}

#[tokio::test]
async fn a_deleted_flow_leaves_the_list_starts_nothing_and_keeps_its_runs() {
    let api = ApiHarness::start().await;
    create(&api, &scheduled("ok-flow", false)).await;
    api.http
        .post(api.url("/flows/ok-flow/publish"))
        .send()
        .await
        .unwrap();
    tick(&api, "ok-flow", "2026-01-01T10:00:00.000Z").await;
    // A run still queued when the flow is deleted finishes on its version.
    tick(&api, "ok-flow", "2026-01-01T10:05:00.000Z").await;

    let deleted = api
        .http
        .delete(api.url("/flows/ok-flow"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (status, list) = get(&api, "/flows").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"], json!([]));
    let (status, problem) = get(&api, "/flows/ok-flow").await;
    assert_eq!(status, 404, "{problem}");
    let again = api
        .http
        .delete(api.url("/flows/ok-flow"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);

    // A worker of another process (an empty flow set) finishes the queued runs from the
    // stored versions.
    let worker = Worker::new(
        api.service.store().clone(),
        Arc::clone(api.service.ops()),
        FlowSet::new(),
    );
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!(report.done, 2, "{report:?}");
    // New ticks start nothing.
    tick(&api, "ok-flow", "2026-01-01T10:10:00.000Z").await;
    let (_, runs) = get(&api, "/runs?flow=ok-flow").await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 2, "{runs}");
    // Another process retires it at its next reload.
    let other = tether_service::Service::for_store(api.service.store().clone());
    other.reload_flows_since(0).await.unwrap();
    assert!(other.flows().current_version("ok-flow").is_none());

    // The id can be taken again.
    create(&api, &scheduled("ok-flow", false)).await;
    let (_, list) = get(&api, "/flows").await;
    assert_eq!(list["items"][0]["id"], "ok-flow");
    assert_eq!(
        list["items"][0]["lastRun"]["status"], "done",
        "history stays"
    );
    api.cleanup().await;
}

#[tokio::test]
async fn the_shipped_recipes_are_offered_as_templates() {
    let api = ApiHarness::start().await;
    let (status, templates) = get(&api, "/templates").await;
    assert_eq!(status, 200);
    let templates = templates.as_array().unwrap();
    assert_eq!(templates.len(), 9);
    let contact = templates
        .iter()
        .find(|template| template["id"] == "ghl-contact-to-df-customer")
        .unwrap();
    assert_eq!(contact["name"], "GHL contact → Details Flowers customer");
    assert!(
        contact["description"]
            .as_str()
            .unwrap()
            .starts_with("A new or updated GHL contact")
    );
    assert!(
        contact["yaml"]
            .as_str()
            .unwrap()
            .starts_with("# Seed recipe 1")
    );
    // Anonymous callers get nothing.
    let anonymous = reqwest::Client::new()
        .get(api.url("/templates"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    api.cleanup().await;
}
