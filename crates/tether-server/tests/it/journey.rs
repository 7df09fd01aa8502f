//! Issue 11's "done when", through the API alone: a script with a token and a browser with a
//! session build a GHL → Details Flowers flow against the simulators, and everything a person
//! does with it happens over `/api/v1` — connect (and see the connection tested), create the flow
//! and read its diagnostics, publish, edit and republish while runs of the first version are
//! queued (they finish on it), take a sample, preview an expression, test a step, read a run
//! with its steps' data, and replay a dead letter on the version that fixes it. Only the worker
//! is started by hand, as `tether serve` would start it; webhooks arrive signed at `/hooks/ghl`.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_engine::invoke::Operations;
use tether_engine::worker::Worker;
use tether_sim::details_flowers::{DetailsFlowersConfig, DetailsFlowersSim};
use tether_sim::ghl::{GhlSim, GhlSimConfig};
use tokio_util::sync::CancellationToken;

use crate::support::{ApiHarness, signed};

const PIT: &str = "pit-journey";

/// Version 1: customers are named by first name only.
const V1: &str = r#"# Customers for every new contact (comments survive the round trip).
id: contacts-to-customers
name: New contacts become customers
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: customer
    map:
      fields:
        email: "{{ trigger.email | lower }}"
        full_name: "{{ trigger.firstName }}"
        ghl_contact_id: "{{ trigger.id }}"
  - id: upsert
    action:
      operation: details_flowers.customer.create
      connection: details-flowers-main
      input:
        email: "{{ steps.customer.output.email }}"
        full_name: "{{ steps.customer.output.full_name }}"
        ghl_contact_id: "{{ steps.customer.output.ghl_contact_id }}"
      match: { field: email, value: "{{ steps.customer.output.email }}" }
"#;

async fn send(request: reqwest::RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    )
}

/// A signed ContactCreate webhook, as GHL sends it.
async fn webhook(api: &ApiHarness, location: &str, id: &str, email: &str, first: &str) {
    let body = serde_json::to_vec(&json!({
        "type": "ContactCreate",
        "locationId": location,
        "id": id,
        "email": email,
        "firstName": first,
        "lastName": "Lovelace",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "webhookId": format!("wh-{id}"),
    }))
    .unwrap();
    let mut request = reqwest::Client::new()
        .post(format!("{}/hooks/ghl", api.base))
        .header("content-type", "application/json")
        .body(body.clone());
    for (name, value) in signed(&body) {
        request = request.header(name, value);
    }
    let (status, answer, _) = send(request).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_flow_is_built_run_read_and_repaired_through_the_api_alone() {
    let api = ApiHarness::start().await;
    let ghl = GhlSim::new(GhlSimConfig {
        pits: vec![PIT.into()],
        ..GhlSimConfig::default()
    })
    .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
    .await
    .unwrap();
    let location = ghl.sim.world().config.location_id.clone();
    let flowers = DetailsFlowersSim::new(DetailsFlowersConfig {
        rate_limit: None,
        ..DetailsFlowersConfig::default()
    })
    .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
    .await
    .unwrap();
    let http = &api.http;

    // Connect both apps; each connection is tested as it is created.
    for body in [
        json!({"app": "ghl", "name": "ghl-main", "token": PIT,
               "accountId": location, "baseUrl": ghl.base_url}),
        json!({"app": "details_flowers", "name": "details-flowers-main",
               "token": tether_sim::details_flowers::DEFAULT_API_KEY,
               "baseUrl": flowers.base_url}),
    ] {
        let (status, created, _) = send(http.post(api.url("/connections")).json(&body)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["health"], "ok", "{created}");
        assert!(created["checkedAt"].is_string(), "{created}");
    }

    // A draft with a misspelt trigger field is saved, with the problem and where it is.
    let (status, flow, headers) = send(
        http.post(api.url("/flows"))
            .header("content-type", "application/yaml")
            .body(V1.replace("trigger.firstName", "trigger.frstName")),
    )
    .await;
    assert_eq!(status, 201, "{flow}");
    let diagnostics = flow["draft"]["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{flow}");
    assert_eq!(diagnostics[0]["path"], "steps[0].map.fields.full_name");
    assert_eq!(diagnostics[0]["line"], 11);
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("frstName")
    );
    let (status, refused, _) = send(
        http.post(api.url("/flows/contacts-to-customers/publish"))
            .json(&json!({"message": "too early"})),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["diagnostics"][0]["path"],
        "steps[0].map.fields.full_name"
    );

    // Fixed and published as v1.
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, saved, _) = send(
        http.put(api.url("/flows/contacts-to-customers/draft"))
            .header("if-match", &etag)
            .header("content-type", "application/yaml")
            .body(V1),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        saved["draft"]["yaml"], V1,
        "the text, comment and all, is kept"
    );
    let (status, v1, _) = send(
        http.post(api.url("/flows/contacts-to-customers/publish"))
            .json(&json!({"message": "first names"})),
    )
    .await;
    assert_eq!(status, 200, "{v1}");
    let v1_hash = v1["version"]["version"].as_str().unwrap().to_owned();

    // Two contacts arrive while no worker runs: their runs wait, on v1.
    webhook(&api, &location, "c-ada", "Ada@Example.com", "Ada").await;
    webhook(&api, &location, "c-grace", "grace@example.com", "Grace").await;

    // v2 names customers in full; the queued runs keep v1.
    let v2_text = V1.replace(
        "full_name: \"{{ trigger.firstName }}\"",
        "full_name: \"{{ trigger.firstName }} {{ trigger.lastName }}\"",
    );
    let (_, current, headers) = send(http.get(api.url("/flows/contacts-to-customers"))).await;
    assert_eq!(current["published"]["version"], v1_hash.as_str());
    let (status, _, _) = send(
        http.put(api.url("/flows/contacts-to-customers/draft"))
            .header("if-match", headers["etag"].to_str().unwrap())
            .header("content-type", "application/yaml")
            .body(v2_text.clone()),
    )
    .await;
    assert_eq!(status, 200);
    let (status, v2, _) = send(
        http.post(api.url("/flows/contacts-to-customers/publish"))
            .json(&json!({"message": "full names"})),
    )
    .await;
    assert_eq!(status, 200, "{v2}");
    let v2_hash = v2["version"]["version"].as_str().unwrap().to_owned();
    assert_ne!(v1_hash, v2_hash);

    // The worker, as `tether serve` runs it; a third contact arrives after the publish.
    let store = api.service.store().clone();
    let ops: Arc<dyn Operations> =
        Arc::new(tether_connectors::registry::Registry::new(store.clone()));
    let worker = Worker::new(store.clone(), ops, api.service.flows().clone());
    webhook(&api, &location, "c-alan", "alan@example.com", "Alan").await;
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!(report.done, 3, "{report:?}");

    let (status, runs, _) = send(http.get(api.url("/runs?flow=contacts-to-customers"))).await;
    assert_eq!(status, 200, "{runs}");
    let by_record = |record: &str| {
        let http = http.clone();
        let url = api.url(&format!("/runs?record={record}"));
        async move { send(http.get(url)).await.1["items"][0].clone() }
    };
    let ada = by_record("ada%40example.com").await;
    let alan = by_record("c-alan").await;
    assert_eq!(
        ada["flowVersion"],
        v1_hash.as_str(),
        "queued on v1, ran on v1"
    );
    assert_eq!(alan["flowVersion"], v2_hash.as_str());
    assert_eq!(runs["items"].as_array().unwrap().len(), 3);

    // A run's detail: each step's resolved input and output, and the link it wrote.
    let (status, detail, _) = send(http.get(api.url(&format!("/runs/{}", ada["id"])))).await;
    assert_eq!(status, 200, "{detail}");
    let steps = detail["steps"].as_array().unwrap();
    let customer = steps.iter().find(|s| s["stepId"] == "customer").unwrap();
    assert_eq!(customer["output"]["value"]["full_name"], "Ada", "{detail}");
    let upsert = steps.iter().find(|s| s["stepId"] == "upsert").unwrap();
    assert_eq!(
        upsert["input"]["value"]["email"], "ada@example.com",
        "{detail}"
    );
    assert_eq!(
        detail["links"][0]["targetApp"], "details_flowers",
        "{detail}"
    );
    let (_, alan_detail, _) = send(http.get(api.url(&format!("/runs/{}", alan["id"])))).await;
    let alan_customer = alan_detail["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stepId"] == "customer")
        .unwrap()
        .clone();
    assert_eq!(
        alan_customer["output"]["value"]["full_name"],
        "Alan Lovelace"
    );

    // A past run's trigger as a sample; an expression previewed and a step tested against it.
    let (status, sample, _) =
        send(http.post(api.url(&format!("/runs/{}/sample", ada["id"])))).await;
    assert_eq!(status, 201, "{sample}");
    let sample_id = sample["id"].as_i64().unwrap();
    let (status, preview, _) = send(http.post(api.url("/preview")).json(&json!({
        "expression": "{{ trigger.email | lower }} / {{ trigger.firstName | upper }}",
        "sampleId": sample_id,
    })))
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["value"], "ada@example.com / ADA");
    let (status, tested, _) = send(http.post(api.url("/flows/test-step")).json(&json!({
        "flowId": "contacts-to-customers", "stepId": "customer", "sampleId": sample_id,
    })))
    .await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(
        tested["output"]["full_name"], "Ada Lovelace",
        "the current version: {tested}"
    );
    assert_eq!(tested["executed"], false);

    // A contact whose e-mail Details Flowers refuses is dead-lettered at the write.
    webhook(&api, &location, "c-bad", "not-an-email", "Bad").await;
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!(report.dead, 1, "{report:?}");
    let (_, letters, _) = send(http.get(api.url("/dead-letters"))).await;
    let letter = letters["items"][0].clone();
    assert_eq!(letter["failedStep"], "upsert", "{letters}");

    // v3 gives such contacts an address of their own; the dead letter is replayed on it.
    let v3_text = v2_text.replace(
        "email: \"{{ trigger.email | lower }}\"",
        "email: \"{{ trigger.email | lower if '@' in trigger.email else trigger.id ~ '@unknown.example.com' }}\"",
    );
    let (_, current, headers) = send(http.get(api.url("/flows/contacts-to-customers"))).await;
    assert_eq!(current["published"]["version"], v2_hash.as_str());
    let (status, _, _) = send(
        http.put(api.url("/flows/contacts-to-customers/draft"))
            .header("if-match", headers["etag"].to_str().unwrap())
            .header("content-type", "application/yaml")
            .body(v3_text),
    )
    .await;
    assert_eq!(status, 200);
    // A step test runs the draft being built, before it is published.
    let (status, tested, _) = send(http.post(api.url("/flows/test-step")).json(&json!({
        "flowId": "contacts-to-customers", "stepId": "customer",
        "sample": {"id": "c-x", "email": "nope", "firstName": "X", "lastName": "Y"},
    })))
    .await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(
        tested["output"]["email"], "c-x@unknown.example.com",
        "{tested}"
    );
    let (status, v3, _) = send(
        http.post(api.url("/flows/contacts-to-customers/publish"))
            .json(&json!({"message": "addresses for contacts without one"})),
    )
    .await;
    assert_eq!(status, 200, "{v3}");
    let (status, replay, _) = send(
        http.post(api.url(&format!("/dead-letters/{}/replay", letter["id"])))
            .header("idempotency-key", "journey-1")
            .json(&json!({"from": "start", "version": "current"})),
    )
    .await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["flowVersion"], v3["version"]["version"]);
    let report = worker.run_until_idle(tether_store::now_ms).await.unwrap();
    assert_eq!(report.done, 1, "{report:?}");
    let (_, replayed, _) = send(http.get(api.url(&format!("/runs/{}", replay["runId"])))).await;
    assert_eq!(replayed["run"]["status"], "done", "{replayed}");
    let customers = reqwest::Client::new()
        .get(format!(
            "{}/customers?email=c-bad%40unknown.example.com",
            flowers.base_url
        ))
        .header("x-api-key", tether_sim::details_flowers::DEFAULT_API_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        customers.contains("c-bad@unknown.example.com"),
        "{customers}"
    );

    // The same with a browser's session: reads and same-origin writes work, a cross-site
    // write is refused.
    let browser = api.browser().await;
    let (status, listed, _) = send(browser.get(api.url("/flows"))).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["id"], "contacts-to-customers");
    let (status, preview, _) = send(browser.post(api.url("/preview")).json(&json!({
        "expression": "{{ trigger.firstName }}", "sample": {"firstName": "Ada"},
    })))
    .await;
    assert_eq!(status, 200, "{preview}");
    let (status, refused, _) = send(
        browser
            .post(api.url("/flows/contacts-to-customers/disable"))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "forbidden");
    let (_, still, _) = send(http.get(api.url("/flows/contacts-to-customers"))).await;
    assert_eq!(still["enabled"], true, "the refused write changed nothing");

    api.cleanup().await;
}
