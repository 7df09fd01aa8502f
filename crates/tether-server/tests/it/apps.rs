//! The Apps page's API over real HTTP: a manifest app's YAML with its problems, and trying
//! operations through a connection against the Details Flowers simulator on loopback (a read
//! runs, a write only when confirmed, the app's refusal comes back as an answer).

use serde_json::{Value, json};
use tether_sim::details_flowers::RunningDetailsFlowers;

use crate::support::ApiHarness;

async fn flowers(api: &ApiHarness, seed_customers: usize) -> RunningDetailsFlowers {
    api.connect_details_flowers("df", seed_customers).await
}

async fn call(api: &ApiHarness, operation: &str, body: Value) -> (u16, Value) {
    let response = api
        .http
        .post(api.url(&format!("/operations/{operation}/call")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The customers' e-mail addresses, as listed through the API.
async fn emails(api: &ApiHarness) -> Vec<String> {
    let (status, listed) = call(
        api,
        "details_flowers.customer.list",
        json!({"connection": "df", "input": {"limit": 100}}),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["ok"], true, "{listed}");
    assert_eq!(listed["reads"], true);
    let output = &listed["output"];
    let items = output
        .as_array()
        .or_else(|| output["items"].as_array())
        .unwrap_or_else(|| panic!("a list: {output}"));
    items
        .iter()
        .map(|customer| customer["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn operations_are_tried_against_the_simulator_and_writes_need_a_confirmation() {
    let api = ApiHarness::start().await;
    let sim = flowers(&api, 2).await;
    assert_eq!(emails(&api).await.len(), 2);

    // A write without the confirmation calls nothing.
    let customer = json!({"email": "ada@example.com", "full_name": "Ada Lovelace"});
    let (status, refused) = call(
        &api,
        "details_flowers.customer.create",
        json!({"connection": "df", "input": customer}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("send `write: true`"),
        "{refused}"
    );
    assert_eq!(refused["diagnostics"][0]["path"], "write");
    assert_eq!(emails(&api).await.len(), 2, "nothing was created");

    let (status, created) = call(
        &api,
        "details_flowers.customer.create",
        json!({"connection": "df", "input": customer, "write": true}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["ok"], true, "{created}");
    assert_eq!(created["reads"], false);
    assert_eq!(created["connection"], "df");
    let id = created["output"]["id"].as_str().unwrap().to_owned();
    assert!(emails(&api).await.contains(&"ada@example.com".to_owned()));

    let (status, read) = call(
        &api,
        "details_flowers.customer.get",
        json!({"connection": "df", "input": {"id": id}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(read["output"]["full_name"], "Ada Lovelace", "{read}");
    assert!(read["durationMs"].as_u64().is_some());

    // The app's refusal is an answer: what failed and its kind.
    let (status, missing) = call(
        &api,
        "details_flowers.customer.get",
        json!({"connection": "df", "input": {"id": "no-such-customer"}}),
    )
    .await;
    assert_eq!(status, 200, "{missing}");
    assert_eq!(missing["ok"], false);
    assert_eq!(missing["errorKind"], "permanent", "{missing}");
    assert!(!missing["error"].as_str().unwrap().is_empty());
    let (status, bad_input) = call(
        &api,
        "details_flowers.customer.create",
        json!({"connection": "df", "input": {"email": "not an address"}, "write": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(bad_input["ok"], false, "{bad_input}");

    // Requests Tether itself refuses: a misspelt operation or connection, a connection of
    // another app, an input that is no object, an unknown field.
    let (status, typo) = call(
        &api,
        "details_flowers.customer.gte",
        json!({"connection": "df"}),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        typo["detail"]
            .as_str()
            .unwrap()
            .contains("did you mean `details_flowers.customer.get`?"),
        "{typo}"
    );
    let (status, unknown) = call(
        &api,
        "details_flowers.customer.list",
        json!({"connection": "dff"}),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        unknown["detail"].as_str().unwrap().contains("`df`"),
        "{unknown}"
    );
    let (status, other_app) = call(
        &api,
        "ghl.contact.get",
        json!({"connection": "df", "input": {"contactId": "x"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        other_app["detail"]
            .as_str()
            .unwrap()
            .contains("is a details_flowers connection"),
        "{other_app}"
    );
    let (status, _) = call(
        &api,
        "details_flowers.customer.list",
        json!({"connection": "df", "input": [1]}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, extra) = call(
        &api,
        "details_flowers.customer.list",
        json!({"connection": "df", "confirm": true}),
    )
    .await;
    assert_eq!(status, 400, "{extra}");
    assert!(
        extra["detail"].as_str().unwrap().contains("confirm"),
        "{extra}"
    );
    drop(sim);
    api.cleanup().await;
}

#[tokio::test]
async fn a_manifest_app_shows_its_yaml_and_typed_apps_have_none() {
    let api = ApiHarness::start().await;
    let response = api
        .http
        .get(api.url("/apps/details_flowers/manifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let manifest: Value = response.json().await.unwrap();
    assert_eq!(manifest["app"], "details_flowers");
    assert_eq!(manifest["file"], "apps/details-flowers.yaml");
    assert_eq!(
        manifest["yaml"],
        tether_core::manifest::DETAILS_FLOWERS_YAML,
        "exactly as shipped"
    );
    assert_eq!(manifest["diagnostics"], json!([]));

    for (app, says) in [("ghl", "typed connector"), ("nope", "app `nope`")] {
        let response = api
            .http
            .get(api.url(&format!("/apps/{app}/manifest")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    api.cleanup().await;
}
