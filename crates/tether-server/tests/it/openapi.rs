//! The committed OpenAPI document (`crates/tether-server/openapi.json`) is the one the code
//! generates: a handler changed without the document fails here. To accept a change, run
//! `TETHER_BLESS=1 cargo test -p tether-server --test it openapi` and commit the file.

use crate::support::{ApiHarness, OPENAPI_FILE};

#[test]
fn the_committed_openapi_document_is_the_one_the_code_generates() {
    let generated = tether_server::v1::openapi_json();
    if std::env::var_os("TETHER_BLESS").is_some() {
        std::fs::write(OPENAPI_FILE, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(OPENAPI_FILE).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()),
                |n| n,
            );
        panic!(
            "{OPENAPI_FILE} differs from the generated document from line {}; if the change is \
             intended run `TETHER_BLESS=1 cargo test -p tether-server --test it openapi` and \
             commit the file",
            first_difference + 1
        );
    }
}

#[tokio::test]
async fn the_server_serves_the_document_and_answers_health_without_a_login() {
    let api = ApiHarness::start().await;
    let anonymous = reqwest::Client::new();
    let served: serde_json::Value = anonymous
        .get(api.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        served,
        serde_json::to_value(tether_server::v1::openapi()).unwrap()
    );
    assert!(served["paths"]["/api/v1/health"]["get"].is_object());

    let health = anonymous.get(api.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn an_unknown_api_path_answers_a_problem() {
    let api = ApiHarness::start().await;
    let answer = api
        .http
        .get(api.url("/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/no-such-thing")
    );
}

/// Every JSON field the API answers is camelCase (`nextCursor`), so every property the document
/// describes must be too: a schema written by hand beside the real type (the page types) once
/// documented `next_cursor` while the server sent `nextCursor`, and the UI's generated types
/// were wrong.
#[test]
fn every_property_the_document_describes_is_camel_case() {
    let document: serde_json::Value =
        serde_json::from_str(&tether_server::v1::openapi_json()).unwrap();
    let mut snake = Vec::new();
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        for property in schema["properties"]
            .as_object()
            .map(|properties| properties.keys().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if property.contains('_') {
                snake.push(format!("{name}.{property}"));
            }
        }
    }
    assert!(snake.is_empty(), "snake_case properties: {snake:?}");
}
