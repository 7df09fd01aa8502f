//! What the flow editor needs beyond drafts and publishing, over `/api/v1`: discarding a draft
//! (it becomes the published YAML again) and running a draft once against a sample, step after
//! step, writing to the Details Flowers simulator only when the write is confirmed.

use serde_json::{Value, json};
use tether_sim::details_flowers::{DEFAULT_API_KEY, RunningDetailsFlowers};

use crate::support::ApiHarness;

const CONNECTION: &str = "details-flowers-main";

/// A GHL contact becomes a Details Flowers customer; the comment and the template must survive.
const FLOW: &str = r#"# The contact recipe, being built.
id: contact-to-customer
name: Contact to customer
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: has_email
    filter: { when: "{{ trigger.email is defined and trigger.email }}" }
  - id: customer
    map:
      fields:
        email: "{{ trigger.email | trim | lower }}"
        full_name: "{{ full_name(trigger.firstName, trigger.lastName) }}"
  - id: create_customer
    description: Create the customer
    action:
      operation: details_flowers.customer.create
      connection: details-flowers-main
      input:
        email: "{{ steps.customer.output.email }}"
        full_name: "{{ steps.customer.output.full_name }}"
  - id: found
    lookup:
      operation: details_flowers.customer.find_by_email
      connection: details-flowers-main
      input: { email: "{{ steps.create_customer.output.email }}" }
"#;

async fn with_flowers() -> (ApiHarness, RunningDetailsFlowers) {
    let api = ApiHarness::start().await;
    let flowers = api.connect_details_flowers(CONNECTION, 0).await;
    // A GHL connection the flows name; nothing listens at its address.
    api.service
        .store()
        .create_connection(tether_store::NewConnection {
            name: "ghl-main".into(),
            app: "ghl".into(),
            auth_kind: tether_store::AuthKind::ApiKey,
            account_id: None,
            base_url: "http://127.0.0.1:9".into(),
            scopes: Vec::new(),
            credentials: tether_core::Secret::new(DEFAULT_API_KEY),
            expires_at_ms: None,
        })
        .await
        .unwrap();
    (api, flowers)
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, etag, response.json().await.unwrap())
}

async fn customers(api: &ApiHarness) -> Vec<Value> {
    let listed = api
        .service
        .ops()
        .invoke(CONNECTION, "details_flowers.customer.list", json!({}))
        .await
        .unwrap();
    listed["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn discarding_a_draft_brings_back_the_published_yaml() {
    let (api, _flowers) = with_flowers().await;
    let flow = api.url("/flows/contact-to-customer");
    let draft = api.url("/flows/contact-to-customer/draft");
    let (status, _, body) = send(
        api.http
            .post(api.url("/flows"))
            .header("content-type", "application/yaml")
            .body(FLOW),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Never published: nothing to go back to.
    let (status, _, problem) = send(api.http.delete(&draft)).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("never published"),
        "{problem}"
    );

    let (status, _, body) = send(
        api.http
            .post(api.url("/flows/contact-to-customer/publish"))
            .json(&json!({"message": "first"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let edited = FLOW.replace("trim | lower", "lower");
    let (status, etag, _) = send(
        api.http
            .put(&draft)
            .header("content-type", "application/yaml")
            .header("if-match", "\"1\"")
            .body(edited.clone()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(etag.as_deref(), Some("\"2\""));

    // A stale ETag is refused and changes nothing.
    let (status, _, problem) = send(api.http.delete(&draft).header("if-match", "\"1\"")).await;
    assert_eq!(status, 412, "{problem}");
    let (_, _, body) = send(api.http.get(&flow)).await;
    assert_eq!(body["draft"]["yaml"], edited.as_str());

    // The current one discards: the draft is the published text, byte for byte, as a new
    // revision, and the flow has no unpublished changes.
    let (status, etag, body) = send(api.http.delete(&draft).header("if-match", "\"2\"")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(etag.as_deref(), Some("\"3\""));
    assert_eq!(body["draft"]["yaml"], FLOW);
    assert_eq!(body["draft"]["revision"], 3);
    assert_eq!(body["published"]["seq"], 1);
    let (_, _, list) = send(api.http.get(api.url("/flows"))).await;
    assert_eq!(list["items"][0]["unpublishedChanges"], false, "{list}");

    // Discarding a draft equal to the published text changes nothing.
    let (status, etag, body) = send(api.http.delete(&draft)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(etag.as_deref(), Some("\"3\""));
    let (status, _, _) = send(api.http.delete(api.url("/flows/nope/draft"))).await;
    assert_eq!(status, 404);
    api.cleanup().await;
}

#[tokio::test]
async fn a_draft_runs_once_step_by_step_and_writes_only_when_confirmed() {
    let (api, _flowers) = with_flowers().await;
    let (status, _, body) = send(
        api.http
            .post(api.url("/flows"))
            .header("content-type", "application/yaml")
            .body(FLOW),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let run = api.url("/flows/contact-to-customer/test-run");
    let sample = json!({"id": "c1", "email": " Ada@Example.com ", "firstName": "Ada", "lastName": "Lovelace"});

    // Without confirmation: the action is rendered, not run, and the lookup after it cannot
    // be rendered without its output; nothing is written.
    let (status, _, unconfirmed) = send(
        api.http
            .post(&run)
            .json(&json!({"sample": sample, "revision": 1})),
    )
    .await;
    assert_eq!(status, 200, "{unconfirmed}");
    assert_eq!(unconfirmed["revision"], 1);
    assert_eq!(unconfirmed["confirmWrite"], false);
    let steps = unconfirmed["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{unconfirmed}");
    assert_eq!(steps[0]["output"], json!({"passed": true}));
    assert_eq!(
        steps[1]["output"],
        json!({"email": "ada@example.com", "full_name": "Ada Lovelace"})
    );
    assert_eq!(steps[2]["executed"], false);
    assert_eq!(
        steps[2]["input"],
        json!({"email": "ada@example.com", "full_name": "Ada Lovelace"})
    );
    assert!(steps[2]["warning"].as_str().unwrap().contains("confirm"));
    assert!(
        unconfirmed["stopped"]
            .as_str()
            .unwrap()
            .contains("\"found\""),
        "{unconfirmed}"
    );
    assert_eq!(
        unconfirmed["diagnostics"][0]["path"],
        "steps[3].lookup.input.email"
    );
    assert!(customers(&api).await.is_empty());

    // Confirmed: the customer is written, and the lookup after it finds it.
    let (status, _, confirmed) = send(
        api.http
            .post(&run)
            .json(&json!({"sample": sample, "confirmWrite": true})),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    assert!(confirmed.get("stopped").is_none(), "{confirmed}");
    let steps = confirmed["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[2]["executed"], true);
    let written = customers(&api).await;
    assert_eq!(written.len(), 1);
    assert_eq!(written[0]["email"], "ada@example.com");
    assert_eq!(steps[3]["output"]["items"][0]["id"], written[0]["id"]);

    // A filter that does not pass ends the run there.
    let (_, _, filtered) = send(
        api.http
            .post(&run)
            .json(&json!({"sample": {"id": "c2"}, "confirmWrite": true})),
    )
    .await;
    assert_eq!(filtered["steps"].as_array().unwrap().len(), 1);
    assert!(
        filtered["stopped"]
            .as_str()
            .unwrap()
            .contains("did not pass"),
        "{filtered}"
    );
    assert_eq!(customers(&api).await.len(), 1);

    // A revision other than the draft's is refused; a draft with problems says where.
    let (status, _, problem) = send(
        api.http
            .post(&run)
            .json(&json!({"sample": sample, "revision": 7})),
    )
    .await;
    assert_eq!(status, 412, "{problem}");
    let broken = FLOW.replace("trigger.email | trim", "trigger.emial | trim");
    let (status, _, _) = send(
        api.http
            .put(api.url("/flows/contact-to-customer/draft"))
            .header("content-type", "application/yaml")
            .header("if-match", "\"1\"")
            .body(broken),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, problem) = send(api.http.post(&run).json(&json!({"sample": sample}))).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("draft revision 2"),
        "{problem}"
    );
    assert_eq!(
        problem["diagnostics"][0]["path"],
        "steps[1].map.fields.email"
    );
    api.cleanup().await;
}
