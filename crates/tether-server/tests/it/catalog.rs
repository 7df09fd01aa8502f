//! `GET /api/v1/catalog`: what the editor's palette and inspector are built from.

use serde_json::Value;

use crate::support::ApiHarness;

#[tokio::test]
async fn the_catalog_answers_apps_operations_with_inlined_schemas_and_event_examples() {
    let api = ApiHarness::start().await;
    let answer = api.http.get(api.url("/catalog")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let catalog: Value = answer.json().await.unwrap();

    let apps: Vec<&str> = catalog["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|app| app["id"].as_str().unwrap())
        .collect();
    assert_eq!(apps[0], "ghl", "HighLevel comes first: {apps:?}");
    assert!(
        apps.contains(&"flickr") && apps.contains(&"details_flowers"),
        "{apps:?}"
    );

    let operations = catalog["operations"].as_array().unwrap();
    assert!(operations.len() >= 140, "{} operations", operations.len());
    // No schema keeps a reference a form generator would have to resolve.
    for operation in operations {
        let text = operation["inputSchema"].to_string() + &operation["outputSchema"].to_string();
        assert!(
            !text.contains("\"$ref\""),
            "{} keeps a $ref",
            operation["id"]
        );
    }
    let create = operations
        .iter()
        .find(|operation| operation["id"] == "details_flowers.customer.create")
        .expect("Details Flowers creates customers");
    assert_eq!(create["kind"], "action");
    assert!(
        create["inputSchema"]["properties"]["email"].is_object(),
        "{}",
        create["inputSchema"]
    );
    let contact = operations
        .iter()
        .find(|operation| operation["id"] == "ghl.contact.get")
        .expect("GHL reads contacts");
    assert!(
        contact["example"].is_object(),
        "an example output: {}",
        contact["example"]
    );

    let events = catalog["events"].as_array().unwrap();
    let created = events
        .iter()
        .find(|event| event["event"] == "ContactCreate")
        .unwrap();
    assert_eq!(created["app"], "ghl");
    assert_eq!(created["example"]["email"], "JohnDeo@gmail.comm");
    api.cleanup().await;
}
