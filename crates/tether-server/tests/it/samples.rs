//! Samples and step tests over `/api/v1`, against the Details Flowers simulator on loopback:
//! samples fetched from a poll trigger leave its cursor where it was, a webhook posted to the
//! server is captured, a past run's event is kept, expressions preview with their problems'
//! positions, and a step test writes only when the write is confirmed.

use serde_json::{Value, json};
use tether_engine::flow::parse_flow;
use tether_sim::details_flowers::RunningDetailsFlowers;

use crate::support::{ApiHarness, contact_event, signed};

const CONNECTION: &str = "details-flowers-main";

/// Polls new Details Flowers customers and builds a GHL contact from each.
const POLL_FLOW: &str = r#"
id: df-new-customers
trigger:
  poll: { operation: details_flowers.customer.new, connection: details-flowers-main, every: 1m }
steps:
  - id: has_email
    filter: { when: "{{ trigger.email is defined and trigger.email }}" }
  - id: shape
    map:
      fields:
        email: "{{ trigger.email | lower }}"
        first: "{{ trigger.full_name | split(' ') | first }}"
        tags: ["florist", "{{ trigger.id }}"]
  - id: existing
    lookup:
      operation: details_flowers.customer.find_by_email
      connection: details-flowers-main
      input: { email: "{{ steps.shape.output.email }}" }
  - id: copy
    action:
      operation: details_flowers.customer.create
      connection: details-flowers-main
      input:
        email: "copy.{{ trigger.email }}"
        full_name: "{{ trigger.full_name }} (copy)"
"#;

/// GHL contacts as they are created.
const WEBHOOK_FLOW: &str = r#"
id: ghl-new-contacts
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: shape
    map:
      fields: { email: "{{ trigger.email }}" }
"#;

/// The harness and a Details Flowers simulator its service has a connection to.
async fn with_flowers() -> (ApiHarness, RunningDetailsFlowers) {
    let api = ApiHarness::start().await;
    let flowers = api.connect_details_flowers(CONNECTION, 0).await;
    (api, flowers)
}

/// Creates a customer in the simulator through the connector.
async fn create_customer(api: &ApiHarness, email: &str, name: &str) -> Value {
    api.service
        .ops()
        .invoke(
            CONNECTION,
            "details_flowers.customer.create",
            json!({"email": email, "full_name": name}),
        )
        .await
        .unwrap()
}

/// Every customer in the simulator.
async fn customers(api: &ApiHarness) -> Vec<Value> {
    let listed = api
        .service
        .ops()
        .invoke(CONNECTION, "details_flowers.customer.list", json!({}))
        .await
        .unwrap();
    listed["items"].as_array().unwrap().clone()
}

async fn post(api: &ApiHarness, path: &str, body: Value) -> (u16, Value) {
    let response = api
        .http
        .post(api.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn get(api: &ApiHarness, path: &str) -> (u16, Value) {
    let response = api.http.get(api.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn fetched_samples_are_the_newest_records_and_the_poll_still_sees_them() {
    let (api, _flowers) = with_flowers().await;
    for n in 1..=4 {
        create_customer(&api, &format!("c{n}@example.com"), &format!("Cust {n}")).await;
    }

    let (status, body) = post(
        &api,
        "/flows/samples/fetch",
        json!({"yaml": POLL_FLOW, "limit": 3}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let emails: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sample| sample["record"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["c4@example.com", "c3@example.com", "c2@example.com"]
    );
    assert_eq!(body["items"][0]["source"], "poll");
    assert_eq!(body["items"][0]["stepId"], "trigger");
    assert_eq!(body["items"][0]["flowId"], "df-new-customers");

    // Nothing was enqueued and the cursor did not move: the flow's first poll takes in all four.
    let store = api.service.store();
    assert_eq!(store.run_counts().await.unwrap().pending(), 0);
    assert_eq!(
        store
            .get_cursor("df-new-customers", "details_flowers.customer.new")
            .await
            .unwrap(),
        None
    );
    let flow = parse_flow(
        POLL_FLOW,
        std::path::Path::new("poll.yaml"),
        Some(api.service.catalog()),
    )
    .unwrap();
    api.service.flows().insert(flow).unwrap();
    let report = tether_engine::poller::poll_once(
        store,
        api.service.ops().as_ref(),
        api.service.flows(),
        "df-new-customers",
        tether_store::now_ms(),
    )
    .await
    .unwrap();
    assert_eq!(report.new_events, 4);

    // By id too, and the flow's samples page newest first.
    let (status, body) = post(
        &api,
        "/flows/samples/fetch",
        json!({"flowId": "df-new-customers", "limit": 1}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["items"][0]["record"]["email"], "c4@example.com");
    let (status, page) = get(&api, "/flows/df-new-customers/samples?limit=3").await;
    assert_eq!(status, 200, "{page}");
    let emails = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sample| sample["record"]["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        emails(&page),
        ["c4@example.com", "c4@example.com", "c3@example.com"]
    );
    let cursor = page["nextCursor"].as_str().unwrap();
    let (_, rest) = get(
        &api,
        &format!("/flows/df-new-customers/samples?limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(emails(&rest), ["c2@example.com"]);
    assert!(rest.get("nextCursor").is_none());

    // Bad requests say what is wrong.
    let (status, body) = post(&api, "/flows/samples/fetch", json!({"yaml": WEBHOOK_FLOW})).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("not triggered by a poll")
    );
    let (status, body) = post(&api, "/flows/samples/fetch", json!({"limit": 2})).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("flowId"),
        "{body}"
    );
    let (status, body) = post(&api, "/flows/samples/fetch", json!({"flowId": "nope"})).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = get(&api, "/flows/df-new-customers/samples?cursor=zzz").await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("cursor"));
    let (status, body) = post(
        &api,
        "/flows/samples/fetch",
        json!({"yaml": "id: x\ntrigger:\n  poll: {}\nsteps: []\n"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["diagnostics"][0]["line"].as_u64().is_some(), "{body}");
    api.cleanup().await;
}

#[tokio::test]
async fn the_next_matching_webhook_is_captured() {
    let api = ApiHarness::start().await;
    // An event from before the capture does not count.
    let (status, _) = post_hook(&api, &contact_event("wh-before")).await;
    assert_eq!(status, 200);
    // Events count from the capture's start millisecond on.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let (status, capture) = post(
        &api,
        "/flows/samples/capture",
        json!({"yaml": WEBHOOK_FLOW, "expiresInSecs": 60}),
    )
    .await;
    assert_eq!(status, 201, "{capture}");
    assert_eq!(capture["status"], "waiting");
    assert_eq!(capture["eventSource"], "ghl.webhook");
    let id = capture["id"].as_i64().unwrap();
    let (_, still) = get(&api, &format!("/flows/samples/capture/{id}")).await;
    assert_eq!(still["status"], "waiting");

    // An event of another kind does not count either; the next ContactCreate does.
    let mut note: Value = serde_json::from_slice(&contact_event("wh-note")).unwrap();
    note["type"] = json!("NoteCreate");
    let (status, _) = post_hook(&api, &serde_json::to_vec(&note).unwrap()).await;
    assert_eq!(status, 200);
    let waiting = tokio::spawn({
        let http = api.http.clone();
        let url = api.url(&format!("/flows/samples/capture/{id}?waitSecs=10"));
        async move {
            let response = http.get(url).send().await.unwrap();
            response.json::<Value>().await.unwrap()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, _) = post_hook(&api, &contact_event("wh-after")).await;
    assert_eq!(status, 200);
    let captured = waiting.await.unwrap();
    assert_eq!(captured["status"], "captured", "{captured}");
    assert_eq!(captured["sample"]["record"]["webhookId"], "wh-after");
    assert_eq!(captured["sample"]["source"], "webhook");

    let (_, page) = get(&api, "/flows/ghl-new-contacts/samples").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (status, body) = get(&api, "/flows/samples/capture/999999").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = get(&api, &format!("/flows/samples/capture/{id}?waitSecs=99")).await;
    assert_eq!(status, 400);
    api.cleanup().await;
}

async fn post_hook(api: &ApiHarness, body: &[u8]) -> (u16, String) {
    let mut request = api
        .http
        .post(format!("{}/hooks/ghl", api.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in signed(body) {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_past_runs_event_becomes_a_sample() {
    let api = ApiHarness::start().await;
    let payload = json!({"type": "ContactCreate", "email": "ada@example.com"});
    let (_, runs) = api
        .service
        .store()
        .record_event_with_runs(
            "ghl.webhook",
            "wh-run",
            "ContactCreate",
            &payload,
            tether_store::now_ms(),
            &[("ghl-new-contacts", 1)],
        )
        .await
        .unwrap();
    let (status, sample) = post(&api, &format!("/runs/{}/sample", runs[0].0), json!({})).await;
    assert_eq!(status, 201, "{sample}");
    assert_eq!(sample["record"], payload);
    assert_eq!(sample["source"], "run");
    assert_eq!(sample["flowId"], "ghl-new-contacts");
    let (status, body) = post(&api, "/runs/424242/sample", json!({})).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    api.cleanup().await;
}

#[tokio::test]
async fn previews_answer_typed_values_or_the_problem_and_where_it_is() {
    let api = ApiHarness::start().await;
    let sample = json!({"email": " Ada@Example.COM ", "tags": ["vip", "florist"], "n": 3});
    let (status, body) = post(
        &api,
        "/preview",
        json!({"expression": "{{ trigger.email | trim | lower }}", "sample": sample}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"], "ada@example.com");

    let (_, body) = post(
        &api,
        "/preview",
        json!({
            "value": {"tags": "{{ trigger.tags }}", "n": "{{ trigger.n + 1 }}", "who": "{{ steps.find.output.name }}"},
            "sample": sample,
            "steps": {"find": {"name": "Ada"}},
        }),
    )
    .await;
    assert_eq!(
        body["value"],
        json!({"tags": ["vip", "florist"], "n": 4, "who": "Ada"})
    );

    // A stored sample works as well as an inline one.
    let stored = api
        .service
        .store()
        .add_sample(
            "f",
            "trigger",
            tether_store::SampleSource::Poll,
            &sample,
            tether_store::now_ms(),
        )
        .await
        .unwrap();
    let (_, body) = post(
        &api,
        "/preview",
        json!({"expression": "{{ trigger.tags | length }}", "sampleId": stored.id.0}),
    )
    .await;
    assert_eq!(body["value"], 2);

    let (status, body) = post(
        &api,
        "/preview",
        json!({"expression": "{{ trigger.email | }}", "sample": sample}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["diagnostics"][0]["path"], "expression");
    assert_eq!(body["diagnostics"][0]["line"], 1);
    assert!(
        body["diagnostics"][0]["column"].as_u64().unwrap() >= 18,
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("syntax error"));

    let (status, body) = post(
        &api,
        "/preview",
        json!({"value": {"a": "{{ trigger.n }}", "b": "x {{ trigger.emial }}"}, "sample": sample}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["diagnostics"],
        json!([{"line": 1, "column": 6, "path": "value.b", "message": "undefined variable 'trigger.emial'"}])
    );

    let (status, body) = post(&api, "/preview", json!({"sample": sample})).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("expression"));
    let (status, body) = post(&api, "/preview", json!({"expresion": "x"})).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("expresion"),
        "{body}"
    );
    api.cleanup().await;
}

#[tokio::test]
async fn a_step_test_renders_runs_lookups_and_writes_only_when_confirmed() {
    let (api, _flowers) = with_flowers().await;
    let ada = create_customer(&api, "ada@example.com", "Ada Lovelace").await;
    let sample = json!({"id": "c9", "email": "Grace@Example.com", "full_name": "Grace Hopper"});
    let test = |step: &str, extra: Value| {
        let mut body = json!({"yaml": POLL_FLOW, "stepId": step, "sample": sample});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };

    let (status, map) = post(&api, "/flows/test-step", test("shape", json!({}))).await;
    assert_eq!(status, 200, "{map}");
    assert_eq!(map["kind"], "map");
    assert_eq!(
        map["output"],
        json!({"email": "grace@example.com", "first": "Grace", "tags": ["florist", "c9"]})
    );
    assert_eq!(map["executed"], false);

    let (_, filter) = post(&api, "/flows/test-step", test("has_email", json!({}))).await;
    assert_eq!(filter["output"], json!({"passed": true}));

    // A lookup renders by default and runs on `execute`.
    let steps = json!({"steps": {"shape": {"email": "ada@example.com"}}});
    let (_, rendered) = post(&api, "/flows/test-step", test("existing", steps.clone())).await;
    assert_eq!(rendered["input"], json!({"email": "ada@example.com"}));
    assert_eq!(rendered["executed"], false);
    assert!(rendered.get("output").is_none());
    let mut execute = steps.clone();
    execute["execute"] = json!(true);
    let (status, looked_up) = post(&api, "/flows/test-step", test("existing", execute)).await;
    assert_eq!(status, 200, "{looked_up}");
    assert_eq!(looked_up["executed"], true);
    assert_eq!(looked_up["output"]["items"][0]["id"], ada["id"]);

    // An action without confirmation warns and writes nothing.
    let before = customers(&api).await.len();
    let (status, unconfirmed) = post(
        &api,
        "/flows/test-step",
        test("copy", json!({"execute": true})),
    )
    .await;
    assert_eq!(status, 200, "{unconfirmed}");
    assert_eq!(unconfirmed["executed"], false);
    assert!(
        unconfirmed["warning"]
            .as_str()
            .unwrap()
            .contains("confirmWrite"),
        "{unconfirmed}"
    );
    assert_eq!(
        unconfirmed["input"],
        json!({"email": "copy.Grace@Example.com", "full_name": "Grace Hopper (copy)"})
    );
    assert_eq!(customers(&api).await.len(), before);

    // With confirmation it writes.
    let (status, written) = post(
        &api,
        "/flows/test-step",
        test("copy", json!({"execute": true, "confirmWrite": true})),
    )
    .await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(written["executed"], true);
    assert!(written.get("warning").is_none());
    let all = customers(&api).await;
    assert_eq!(all.len(), before + 1);
    assert!(
        all.iter()
            .any(|customer| customer["id"] == written["output"]["id"]
                && customer["full_name"] == "Grace Hopper (copy)")
    );

    // A step that cannot render names the field and the place; an unknown step names the steps.
    let (status, body) = post(
        &api,
        "/flows/test-step",
        json!({"yaml": POLL_FLOW, "stepId": "shape", "sample": {"id": "x"}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let paths: Vec<&str> = body["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|diagnostic| diagnostic["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["steps[1].map.fields.email", "steps[1].map.fields.first"]
    );
    let (status, body) = post(
        &api,
        "/flows/test-step",
        json!({"yaml": POLL_FLOW, "stepId": "shap"}),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("has_email, shape"),
        "{body}"
    );
    api.cleanup().await;
}
