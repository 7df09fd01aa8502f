//! The generic REST connector, driven by the shipped Details Flowers manifest, against the Details
//! Flowers simulator over loopback: every catalog operation, paging in both styles, polling with
//! equal timestamps across page boundaries, and the error paths (401, 422, 404, 429).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use http::HeaderName;
use serde_json::{Map, Value, json};
use tether_connectors::rest::{Error, ListQuery, RestApp};
use tether_core::ErrorKind;
use tether_core::Secret;
use tether_core::catalog::{OperationKind, problems};
use tether_core::manifest::{FieldType, Format, Manifest, Resource, TriggerKind, details_flowers};
use tether_http::{ApiKeyHeader, ClientConfig, HttpClient, RetryConfig};
use tether_sim::details_flowers::{
    DEFAULT_API_KEY, DetailsFlowersConfig, DetailsFlowersSim, RunningDetailsFlowers, SimRateLimit,
};
use tether_sim::ghl::log::LoggedRequest;
use tokio_util::sync::CancellationToken;
use url::Url;

/// The shipped manifest, rate limit off in the simulator (most tests make many calls).
fn config() -> DetailsFlowersConfig {
    DetailsFlowersConfig {
        rate_limit: None,
        ..DetailsFlowersConfig::default()
    }
}

async fn start(config: DetailsFlowersConfig) -> (RunningDetailsFlowers, RestApp) {
    start_with_key(config, DEFAULT_API_KEY).await
}

async fn start_with_key(
    config: DetailsFlowersConfig,
    key: &str,
) -> (RunningDetailsFlowers, RestApp) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let manifest = config.manifest.clone();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let running = DetailsFlowersSim::new(config)
        .spawn(addr, CancellationToken::new())
        .await
        .unwrap();
    let app = RestApp::new(
        manifest,
        Url::parse(&running.base_url).unwrap(),
        Secret::new(key),
    )
    .unwrap();
    (running, app)
}

fn requests(running: &RunningDetailsFlowers) -> Vec<LoggedRequest> {
    running.sim.world().log.since(0)
}

/// A manifest whose customers page by `size`, to cross page boundaries with few records.
fn with_page_size(size: u32) -> DetailsFlowersConfig {
    let mut manifest: Manifest = details_flowers().unwrap();
    for resource in &mut manifest.resources {
        resource.paging.max_size = size;
    }
    DetailsFlowersConfig {
        rate_limit: None,
        ..DetailsFlowersConfig::for_manifest(manifest)
    }
}

/// A valid value for every writable field; `n` makes unique fields unique.
fn sample_input(resource: &Resource, customer_id: &str, n: usize) -> Map<String, Value> {
    let mut input = Map::new();
    for field in resource.fields.iter().filter(|field| !field.read_only) {
        let value = match (field.kind, field.format) {
            _ if field.name == "customer_id" => json!(customer_id),
            (FieldType::String, Some(Format::Email)) => {
                json!(format!("{}{n}@example.com", resource.name))
            }
            (FieldType::String, None) => json!(format!("{}-{n}", field.name)),
            (FieldType::Integer, _) => json!(4200 + n),
            (FieldType::Number, _) => json!(1.5),
            (FieldType::Boolean, _) => json!(false),
            (FieldType::Datetime, _) => json!("2026-03-01T10:00:00Z"),
            (FieldType::Date, _) => json!("2026-03-01"),
            (FieldType::Array, _) => json!([{"sku": "rose", "quantity": 3}]),
            (FieldType::Object, _) => json!({}),
        };
        input.insert(field.name.clone(), value);
    }
    input
}

fn assert_fits(schema: &Value, value: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?} in {value}");
}

#[test]
fn the_catalog_has_every_declared_operation_with_schemas() {
    let manifest = details_flowers().unwrap();
    let operations = tether_connectors::rest::catalog::catalog(&manifest);
    assert!(
        problems(&operations).is_empty(),
        "{:?}",
        problems(&operations)
    );
    let expected: usize = manifest
        .resources
        .iter()
        .map(|r| r.actions.len() + r.search_by.len() + r.triggers.len())
        .sum();
    assert_eq!(operations.len(), expected);
    let ids: HashSet<&str> = operations.iter().map(|op| op.id.as_str()).collect();
    for id in [
        "details_flowers.customer.create",
        "details_flowers.customer.find_by_email",
        "details_flowers.customer.updated",
        "details_flowers.note.new",
        "details_flowers.delivery.delete",
    ] {
        assert!(ids.contains(id), "{id}");
    }
    let create = operations
        .iter()
        .find(|op| op.id == "details_flowers.customer.create")
        .unwrap();
    assert_eq!(
        create.input_schema["required"],
        json!(["email", "full_name"])
    );
    assert_eq!(
        create.input_schema["properties"]["email"]["format"],
        "email"
    );
    let trigger = operations
        .iter()
        .find(|op| op.id == "details_flowers.task.updated")
        .unwrap();
    assert_eq!(trigger.kind, OperationKind::Trigger);
}

#[tokio::test]
async fn every_catalog_operation_runs_against_the_simulator() {
    let (running, app) = start(config()).await;
    let operations = app.catalog();
    let mut ran = HashSet::new();
    let mut call = async |id: &str, input: Value| -> Value {
        let operation = operations.iter().find(|op| op.id == id).unwrap();
        assert_fits(&operation.input_schema, &input, &format!("{id} input"));
        let output = app
            .invoke(id, input)
            .await
            .unwrap_or_else(|error| panic!("{id}: {error}"));
        assert_fits(&operation.output_schema, &output, &format!("{id} output"));
        ran.insert(id.to_owned());
        output
    };
    let manifest = app.manifest().clone();
    let customer = manifest.resource("customer").unwrap();
    let created = call(
        "details_flowers.customer.create",
        Value::Object(sample_input(customer, "", 0)),
    )
    .await;
    let customer_id = created["id"].as_str().unwrap().to_owned();
    for (n, resource) in manifest.resources.iter().enumerate() {
        let op = |verb: &str| format!("details_flowers.{}.{verb}", resource.name);
        let input = sample_input(resource, &customer_id, n + 1);
        let record = call(&op("create"), Value::Object(input.clone())).await;
        let id = record["id"].as_str().unwrap().to_owned();
        for (name, value) in &input {
            assert_eq!(&record[name], value, "{} {name}", resource.name);
        }
        assert_eq!(record["created_at"], record["updated_at"]);

        let fetched = call(&op("get"), json!({"id": id})).await;
        assert_eq!(fetched, record);

        let (field, value) = match resource.name.as_str() {
            "customer" => ("full_name", json!("Rosa Renamed")),
            "order" => ("status", json!("confirmed")),
            "delivery" => ("status", json!("done")),
            "note" => ("body", json!("Prefers peonies.")),
            _ => ("done", json!(true)),
        };
        let updated = call(&op("update"), json!({"id": id, field: value})).await;
        assert_eq!(updated[field], value);
        assert_eq!(updated["created_at"], record["created_at"]);
        assert!(updated["updated_at"].as_str() >= record["updated_at"].as_str());

        for search in &resource.search_by {
            let found = call(
                &op(&format!("find_by_{search}")),
                json!({ search: updated[search.as_str()] }),
            )
            .await;
            let ids: Vec<&str> = found["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["id"].as_str().unwrap())
                .collect();
            assert!(
                ids.contains(&id.as_str()),
                "{} by {search}: {ids:?}",
                resource.name
            );
        }

        let listed = call(&op("list"), json!({"limit": 50})).await;
        assert!(
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|item| item["id"] == id.as_str()),
            "{listed}"
        );

        for trigger in &resource.triggers {
            let polled = call(&op(trigger.as_str()), json!({"cursor": null})).await;
            let records = polled["records"].as_array().unwrap();
            assert!(records.iter().any(|item| item["id"] == id.as_str()));
            // Polling again from the returned cursor finds nothing new.
            let again = call(&op(trigger.as_str()), json!({"cursor": polled["cursor"]})).await;
            assert_eq!(again["records"], json!([]), "{}", op(trigger.as_str()));
            assert_eq!(again["cursor"], polled["cursor"]);
        }

        if resource.name != "customer" {
            let deleted = call(&op("delete"), json!({"id": id})).await;
            assert_eq!(deleted, json!({"deleted": true, "id": id}));
            let gone = app.invoke(&op("get"), json!({"id": id})).await.unwrap_err();
            assert!(matches!(gone, Error::NotFound { .. }), "{gone}");
        }
    }
    let deleted = call(
        "details_flowers.customer.delete",
        json!({"id": customer_id}),
    )
    .await;
    assert_eq!(deleted["deleted"], true);

    let all: HashSet<String> = operations.iter().map(|op| op.id.clone()).collect();
    let missing: Vec<&String> = all.difference(&ran).collect();
    assert!(missing.is_empty(), "not exercised: {missing:?}");
    // Every call carried the API key in the manifest's header.
    assert!(requests(&running).iter().all(|request| {
        request
            .headers
            .iter()
            .any(|(name, value)| name == "x-api-key" && value == DEFAULT_API_KEY)
    }));
}

#[tokio::test]
async fn listings_stream_every_record_once_over_several_pages() {
    let (running, app) = start(DetailsFlowersConfig {
        seed_customers: 23,
        ..with_page_size(5)
    })
    .await;
    let records: Vec<Value> = app
        .list_stream("customer", ListQuery::default())
        .try_collect()
        .await
        .unwrap();
    let ids: HashSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!((records.len(), ids.len()), (23, 23));
    let pages = requests(&running)
        .iter()
        .filter(|request| request.path == "/customers")
        .count();
    assert_eq!(pages, 5, "pages of 5, 5, 5, 5, 3");

    // Notes page with cursors.
    let customer_id = records[0]["id"].as_str().unwrap();
    for n in 0..7 {
        app.create(
            "note",
            json!({"customer_id": customer_id, "body": format!("note {n}")})
                .as_object()
                .unwrap()
                .clone(),
        )
        .await
        .unwrap();
    }
    let notes: Vec<Value> = app
        .list_stream("note", ListQuery::default())
        .try_collect()
        .await
        .unwrap();
    let bodies: Vec<&str> = notes.iter().map(|n| n["body"].as_str().unwrap()).collect();
    assert_eq!(
        bodies,
        (0..7).map(|n| format!("note {n}")).collect::<Vec<_>>()
    );
    let note_pages: Vec<Option<String>> = requests(&running)
        .iter()
        .filter(|request| request.path == "/notes" && request.method == "GET")
        .map(|request| request.query.clone())
        .collect();
    assert_eq!(note_pages.len(), 2, "{note_pages:?}");
    assert!(note_pages[1].as_deref().unwrap().contains("cursor="));
}

#[tokio::test]
async fn polling_yields_each_record_once_across_equal_timestamps_and_pages() {
    // 25 customers share one `updated_at` (a bulk import); pages hold 4.
    let (_running, app) = start(DetailsFlowersConfig {
        seed_customers: 25,
        ..with_page_size(4)
    })
    .await;
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let batch = app
            .poll("customer", TriggerKind::Updated, cursor.as_ref(), 10)
            .await
            .unwrap();
        if batch.records.is_empty() {
            assert_eq!(batch.cursor, cursor, "an empty poll keeps the cursor");
            break;
        }
        assert!(batch.records.len() <= 10);
        seen.extend(
            batch
                .records
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        cursor = batch.cursor;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (25, 25), "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "(time, id) order");

    // A change is picked up once, and only the changed record comes back.
    let changed = &seen[2];
    app.update(
        "customer",
        changed,
        json!({"phone": "+15550000000"})
            .as_object()
            .unwrap()
            .clone(),
    )
    .await
    .unwrap();
    let batch = app
        .poll("customer", TriggerKind::Updated, cursor.as_ref(), 100)
        .await
        .unwrap();
    let ids: Vec<&str> = batch
        .records
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [changed.as_str()]);

    // `new` sees created records only, not the changed one.
    let news = app
        .poll("customer", TriggerKind::New, cursor.as_ref(), 100)
        .await
        .unwrap();
    assert!(news.records.is_empty(), "{:?}", news.records);
}

#[tokio::test]
async fn a_refused_api_key_is_an_auth_error() {
    let (_running, app) = start_with_key(config(), "wrong-key").await;
    let error = app
        .invoke("details_flowers.customer.list", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unauthorized(_)), "{error}");
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.status(), Some(401));
}

#[tokio::test]
async fn bad_input_is_named_before_sending_and_service_refusals_are_typed() {
    let (running, app) = start(DetailsFlowersConfig {
        seed_customers: 1,
        ..config()
    })
    .await;
    let check_input = async |id: &str, input: Value, field: &str| {
        let error = app.invoke(id, input).await.unwrap_err();
        match &error {
            Error::Input { field: named, .. } => assert_eq!(named, field, "{error}"),
            other => panic!("{id}: {other}"),
        }
        assert_eq!(error.kind(), ErrorKind::Permanent);
    };
    let create = "details_flowers.customer.create";
    check_input(create, json!({"email": "nope", "full_name": "N"}), "email").await;
    check_input(create, json!({"email": "a@b.co"}), "full_name").await;
    check_input(
        create,
        json!({"email": "a@b.co", "full_name": "N", "colour": 1}),
        "colour",
    )
    .await;
    check_input(
        create,
        json!({"email": "a@b.co", "full_name": "N", "id": "x"}),
        "id",
    )
    .await;
    check_input(
        "details_flowers.order.create",
        json!({"customer_id": "c", "items": [], "total_cents": "12"}),
        "total_cents",
    )
    .await;
    check_input("details_flowers.customer.get", json!({}), "id").await;
    check_input("details_flowers.customer.get", json!({"id": "../x"}), "id").await;
    check_input(
        "details_flowers.customer.list",
        json!({"limit": 0}),
        "limit",
    )
    .await;
    check_input(
        "details_flowers.customer.updated",
        json!({"cursor": {"time": "yesterday", "id": "x"}}),
        "cursor.time",
    )
    .await;
    assert!(requests(&running).is_empty(), "nothing was sent");

    // The service's own check (a unique email) comes back as a typed refusal naming the field.
    let error = app
        .invoke(
            create,
            json!({"email": "customer1@example.com", "full_name": "Twin"}),
        )
        .await
        .unwrap_err();
    match &error {
        Error::Rejected { field, message, .. } => {
            assert_eq!(field, "email");
            assert!(message.contains("already used"), "{message}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        (error.status(), error.kind()),
        (Some(422), ErrorKind::Permanent)
    );

    let error = app.get("customer", "cus_99999999").await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error}");
    let error = app
        .invoke("details_flowers.customer.explode", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnknownOperation(_)), "{error}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_by_the_client_stack() {
    let (running, app) = start(DetailsFlowersConfig {
        seed_customers: 3,
        rate_limit: Some(SimRateLimit {
            requests: 2,
            window_ms: 1000,
        }),
        ..config()
    })
    .await;
    for id in ["cus_00000001", "cus_00000002", "cus_00000003"] {
        let record = app.get("customer", id).await.unwrap();
        assert_eq!(record["id"], id);
    }
    let statuses: Vec<u16> = requests(&running).iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 200, 429, 200],
        "the third call waited out Retry-After"
    );
}

#[tokio::test]
async fn injected_server_errors_are_retried_and_paging_stays_exact() {
    let config = DetailsFlowersConfig {
        seed_customers: 30,
        ..with_page_size(4)
    };
    let manifest = config.manifest.clone();
    let (running, _) = start(config).await;
    let faults: Value = reqwest::Client::new()
        .put(format!("{}/__sim/faults", running.base_url))
        .json(&json!({"error_rate": 0.3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["error_rate"], 0.3);
    // Short backoffs keep the test fast; the retry rules are the stack's own.
    let mut client_config = ClientConfig::new("florist", Url::parse(&running.base_url).unwrap());
    client_config.retry = RetryConfig {
        max_attempts: 10,
        base: Duration::from_millis(2),
        cap: Duration::from_millis(20),
        budget_ratio: 1.0,
        budget_min_per_sec: 100,
    };
    let http = HttpClient::new(
        client_config,
        Arc::new(ApiKeyHeader {
            header: HeaderName::from_static("x-api-key"),
            key: Secret::new(DEFAULT_API_KEY),
        }),
        None,
    )
    .unwrap();
    let app = RestApp::with_client(manifest, http);
    let records: Vec<Value> = app
        .list_stream("customer", ListQuery::default())
        .try_collect()
        .await
        .unwrap();
    let ids: HashSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!((records.len(), ids.len()), (30, 30));
    let n_5xx = requests(&running)
        .iter()
        .filter(|request| request.status >= 500)
        .count();
    assert!(n_5xx > 0, "faults were injected and retried");
}
