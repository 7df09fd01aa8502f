//! `/api/v1/flows`: drafts kept byte for byte behind `If-Match`, publishing refused with every
//! diagnostic, and runs finishing on the version they were enqueued with after a republish.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_engine::executor::FlowSet;
use tether_engine::worker::{Worker, intake};

use crate::support::ApiHarness;

/// A schedule flow (no connection needed) whose one map step says which version ran.
fn flow_yaml(greeting: &str) -> String {
    format!(
        "# Greets every five minutes; the comment must survive.\n\
         id: greeter\n\
         name: Greeter\n\
         trigger:\n  schedule: {{ cron: \"*/5 * * * *\" }}\n\
         steps:\n  - id: greet\n    map:\n      fields:\n        \
         said: \"{greeting} {{{{ trigger.scheduled_at }}}}\"  # keep {{{{ }}}} as written\n"
    )
}

async fn tick(api: &ApiHarness, at: &str) {
    let new = intake(
        api.service.store(),
        api.service.flows(),
        tether_engine::scheduler::SOURCE,
        &format!("greeter@{at}"),
        tether_engine::scheduler::KIND,
        &json!({ "scheduled_at": at }),
    )
    .await
    .unwrap();
    assert!(new);
}

async fn put_draft(api: &ApiHarness, yaml: &str, if_match: Option<&str>) -> reqwest::Response {
    let mut request = api
        .http
        .put(api.url("/flows/greeter/draft"))
        .header("content-type", "application/yaml")
        .body(yaml.to_owned());
    if let Some(etag) = if_match {
        request = request.header("if-match", etag);
    }
    request.send().await.unwrap()
}

async fn publish(api: &ApiHarness, message: &str) -> (u16, Value) {
    let response = api
        .http
        .post(api.url("/flows/greeter/publish"))
        .json(&json!({ "message": message }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn assert_positioned(diagnostics: &Value) {
    let diagnostics = diagnostics.as_array().unwrap();
    assert!(!diagnostics.is_empty());
    for diagnostic in diagnostics {
        assert!(diagnostic["line"].as_u64().unwrap() > 0, "{diagnostic}");
        assert!(diagnostic["column"].as_u64().unwrap() > 0, "{diagnostic}");
        assert!(
            !diagnostic["path"].as_str().unwrap().is_empty(),
            "{diagnostic}"
        );
    }
}

#[tokio::test]
async fn queued_runs_finish_on_their_version_after_a_republish() {
    let api = ApiHarness::start().await;
    let v1 = flow_yaml("hello");
    let broken = v1.replace("trigger.scheduled_at", "trigger.scheduled_at | shout");

    // A draft with a problem is saved and answered with its diagnostics.
    let created = api
        .http
        .post(api.url("/flows"))
        .header("content-type", "text/yaml")
        .body(broken.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["id"], "greeter");
    assert_eq!(body["draft"]["yaml"], broken.as_str());
    assert_positioned(&body["draft"]["diagnostics"]);
    assert!(
        body["draft"]["diagnostics"][0]["message"]
            .as_str()
            .unwrap()
            .contains("shout"),
        "{body}"
    );
    assert!(body.get("published").is_none());

    // Publishing it is refused with every diagnostic, each with its place.
    let (status, problem) = publish(&api, "broken").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "unprocessable");
    assert_positioned(&problem["diagnostics"]);
    assert_eq!(
        problem["diagnostics"][0]["path"],
        "steps[0].map.fields.said"
    );

    // Saving needs the revision the edit started from.
    assert_eq!(put_draft(&api, &v1, None).await.status(), 400);
    let saved = put_draft(&api, &v1, Some("\"1\"")).await;
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.headers()["etag"], "\"2\"");
    let body: Value = saved.json().await.unwrap();
    assert_eq!(body["draft"]["diagnostics"], json!([]));
    let stale = put_draft(&api, &broken, Some("\"1\"")).await;
    assert_eq!(stale.status(), 412);
    let problem: Value = stale.json().await.unwrap();
    assert_eq!(problem["code"], "precondition_failed");

    // The comment and the `{{ }}` come back byte for byte.
    let read = api
        .http
        .get(api.url("/flows/greeter"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.headers()["etag"], "\"2\"");
    let body: Value = read.json().await.unwrap();
    assert_eq!(body["draft"]["yaml"].as_str().unwrap(), v1);

    let (status, first) = publish(&api, "first").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["created"], true);
    assert_eq!(first["version"]["seq"], 1);
    let hash1 = first["version"]["version"].as_str().unwrap().to_owned();
    assert_eq!(hash1.len(), 16);
    assert!(hash1.bytes().all(|byte| byte.is_ascii_hexdigit()));
    let (_, again) = publish(&api, "again").await;
    assert_eq!(
        again["created"], false,
        "unchanged content is no new version"
    );
    assert_eq!(again["version"]["seq"], 1);

    // Two runs enqueued on v1, no worker running.
    tick(&api, "2026-01-01T10:00:00.000Z").await;
    tick(&api, "2026-01-01T10:05:00.000Z").await;

    // Edit and republish.
    let v2 = flow_yaml("goodbye");
    assert_eq!(put_draft(&api, &v2, Some("\"2\"")).await.status(), 200);
    let (status, second) = publish(&api, "say goodbye").await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["version"]["seq"], 2);
    let hash2 = second["version"]["version"].as_str().unwrap().to_owned();
    assert_ne!(hash1, hash2);
    tick(&api, "2026-01-01T10:10:00.000Z").await;

    // A worker of another process: its flow set is empty, so it loads each version from the
    // store as it meets its runs.
    let worker = Worker::new(
        api.service.store().clone(),
        Arc::clone(api.service.ops()),
        FlowSet::new(),
    );
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!(report.done, 3, "{report:?}");
    let mut said = Vec::new();
    for summary in api.service.store().runs_recent(10).await.unwrap() {
        let step = summary
            .steps
            .iter()
            .find(|step| step.step_id == "greet")
            .unwrap();
        let said_now = step.output["said"].as_str().unwrap().to_owned();
        // A run's recorded number maps back to the version people see.
        let version = api
            .service
            .version_of_run_number("greeter", summary.run.flow_version)
            .await
            .unwrap()
            .unwrap();
        let expected = if said_now.starts_with("hello") {
            &hash1
        } else {
            &hash2
        };
        assert_eq!(&version.version, expected, "{said_now}");
        said.push(said_now);
    }
    said.sort();
    assert_eq!(
        said,
        [
            "goodbye 2026-01-01T10:10:00.000Z",
            "hello 2026-01-01T10:00:00.000Z",
            "hello 2026-01-01T10:05:00.000Z",
        ]
    );

    // The versions, newest first, each with its YAML as published.
    let versions: Value = api
        .http
        .get(api.url("/flows/greeter/versions?limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions["items"][0]["seq"], 2);
    assert_eq!(versions["items"][0]["message"], "say goodbye");
    let cursor = versions["nextCursor"].as_str().unwrap();
    let older: Value = api
        .http
        .get(api.url(&format!("/flows/greeter/versions?limit=1&cursor={cursor}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(older["items"][0]["version"], hash1.as_str());
    assert!(older.get("nextCursor").is_none());
    for reference in ["1", "v1", hash1.as_str()] {
        let version: Value = api
            .http
            .get(api.url(&format!("/flows/greeter/versions/{reference}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(version["yaml"].as_str().unwrap(), v1, "{reference}");
        assert_eq!(version["seq"], 1);
    }
    let missing = api
        .http
        .get(api.url("/flows/greeter/versions/7"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let export = api.service.export_flows().await.unwrap();
    assert_eq!(export, [("greeter".to_owned(), v2.clone())]);

    api.cleanup().await;
}

#[tokio::test]
async fn a_disabled_flow_starts_no_runs_and_lists_page_by_id() {
    let api = ApiHarness::start().await;
    for (id, greeting) in [("greeter", "hi"), ("another", "yo")] {
        let yaml = flow_yaml(greeting).replace("id: greeter", &format!("id: {id}"));
        let response = api
            .http
            .post(api.url("/flows"))
            .json(&json!({ "yaml": yaml }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let published = api
            .http
            .post(api.url(&format!("/flows/{id}/publish")))
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 200);
    }
    let duplicate = api
        .http
        .post(api.url("/flows"))
        .header("content-type", "application/yaml")
        .body(flow_yaml("again"))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 409);
    let no_id = api
        .http
        .post(api.url("/flows"))
        .header("content-type", "application/yaml")
        .body("name: nameless\n")
        .send()
        .await
        .unwrap();
    assert_eq!(no_id.status(), 422);

    let page: Value = api
        .http
        .get(api.url("/flows?limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], "another");
    let next: Value = api
        .http
        .get(api.url(&format!(
            "/flows?limit=1&cursor={}",
            page["nextCursor"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(next["items"][0]["id"], "greeter");
    assert_eq!(next["items"][0]["published"]["seq"], 1);
    let bad_limit = api
        .http
        .get(api.url("/flows?limit=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_limit.status(), 400);

    let starts = |api: &ApiHarness| {
        let mut ids: Vec<String> = api
            .service
            .flows()
            .current()
            .into_iter()
            .map(|(_, flow)| flow.id.clone())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(starts(&api), ["another", "greeter"]);
    let disabled: Value = api
        .http
        .post(api.url("/flows/greeter/disable"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["enabled"], false);
    assert_eq!(starts(&api), ["another"]);
    let new = intake(
        api.service.store(),
        api.service.flows(),
        tether_engine::scheduler::SOURCE,
        "greeter@2026-01-01T10:00:00.000Z",
        tether_engine::scheduler::KIND,
        &json!({ "scheduled_at": "2026-01-01T10:00:00.000Z" }),
    )
    .await
    .unwrap();
    assert!(new);
    assert!(
        api.service
            .store()
            .runs_recent(10)
            .await
            .unwrap()
            .is_empty()
    );
    let enabled = api
        .http
        .post(api.url("/flows/greeter/enable"))
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), 200);
    assert_eq!(starts(&api), ["another", "greeter"]);
    let unknown = api
        .http
        .post(api.url("/flows/nope/enable"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    api.cleanup().await;
}

#[tokio::test]
async fn another_process_picks_up_publishes_and_skips_a_flow_that_no_longer_loads() {
    let api = ApiHarness::start().await;
    // A second process over the same store: its own flow set, filled from the store.
    let other = tether_service::Service::new(
        api.service.store().clone(),
        Arc::clone(api.service.ops()),
        FlowSet::new(),
        tether_service::Settings::default(),
    );
    let counter = other.reload_flows_since(0).await.unwrap();
    assert!(other.flows().current().is_empty());

    let checks = tether_service::flows::Checks::Full;
    api.service
        .apply_flow(&flow_yaml("hello"), "first", checks)
        .await
        .unwrap();
    let counter = other.reload_flows_since(counter).await.unwrap();
    let current = other.flows().current();
    assert_eq!(current.len(), 1);
    let v1 = current[0].0;

    api.service
        .apply_flow(&flow_yaml("goodbye"), "second", checks)
        .await
        .unwrap();
    let counter = other.reload_flows_since(counter).await.unwrap();
    let v2 = other.flows().current()[0].0;
    assert_ne!(v1, v2, "the new version runs new events");
    assert!(
        other.flows().get("greeter", v1).is_some(),
        "v1 stays for its runs"
    );

    api.service
        .set_flow_enabled("greeter", false)
        .await
        .unwrap();
    let counter = other.reload_flows_since(counter).await.unwrap();
    assert!(other.flows().current().is_empty(), "disabled elsewhere");
    api.service.set_flow_enabled("greeter", true).await.unwrap();
    let counter = other.reload_flows_since(counter).await.unwrap();
    assert_eq!(other.flows().current().len(), 1);

    // A version stored by an older Tether whose operation this catalog no longer has: logged
    // and skipped, while the other flows load.
    let gone = "id: legacy\ntrigger:\n  schedule: { cron: \"0 * * * *\" }\nsteps:\n  - id: call\n    \
                action:\n      operation: retired_app.thing.create\n      connection: old\n      input: {}\n";
    let store = api.service.store();
    store
        .create_flow("legacy", "legacy", gone, tether_store::now_ms())
        .await
        .unwrap();
    store
        .publish_flow("legacy", gone, "00000000000000aa", 0xa, "old", 0)
        .await
        .unwrap();
    let fresh = tether_service::Service::new(
        store.clone(),
        Arc::clone(api.service.ops()),
        FlowSet::new(),
        tether_service::Settings::default(),
    );
    fresh.reload_flows_since(0).await.unwrap();
    let running: Vec<String> = fresh
        .flows()
        .current()
        .into_iter()
        .map(|(_, flow)| flow.id.clone())
        .collect();
    assert_eq!(running, ["greeter"]);
    other.reload_flows_since(counter).await.unwrap();
    assert_eq!(other.flows().current().len(), 1);

    api.cleanup().await;
}
