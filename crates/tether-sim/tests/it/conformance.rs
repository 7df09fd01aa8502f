//! Spec-driven conformance of the gate's answers, for every operation in the table: no token
//! (401), no `Version` (400), a token without the scope (403) and a body of the wrong shape (422),
//! each checked against the schema the official spec declares for that status where it declares one;
//! then the `Version` values the official SDKs send (`2023-02-21`, `v3`) and every v3 answer
//! checked against `contacts-v3.openapi.json` / `oauth-v3.openapi.json`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tether_sim::ghl::auth::{AccessGrant, TokenKind};
use tether_sim::ghl::ops::{Dialect, OPS, OpSpec, SpecFile, TokenRule};
use tether_sim::ghl::spec;

use crate::support::{
    NODE_SDK_VERSION, PIT, Sim, V3_VERSION, assert_conforms, assert_conforms_in, config,
};

/// A concrete path for an operation: every `{param}` filled with an id that exists nowhere.
fn concrete_path(op: &OpSpec) -> String {
    let mut path = String::new();
    for segment in op.path.split('/').skip(1) {
        path.push('/');
        match segment {
            "{type}" => path.push_str("add"),
            s if s.starts_with('{') => path.push_str("NoSuchId000000000000"),
            s => path.push_str(s),
        }
    }
    path
}

/// Checks an error answer: the declared schema when the spec has one, else the common shape.
fn check_error(op: &OpSpec, status: StatusCode, body: &Value) {
    if spec::response_schema(op.operation_id, status.as_u16()).is_some() {
        assert_conforms(op.operation_id, status.as_u16(), body);
    }
    assert_eq!(
        body["statusCode"],
        status.as_u16(),
        "{}: {body}",
        op.operation_id
    );
    assert!(
        body["message"].is_string() || body["message"].is_array(),
        "{}: {body}",
        op.operation_id
    );
}

#[tokio::test]
async fn every_secured_operation_refuses_a_missing_or_unknown_token_with_401() {
    let sim = Sim::default().await;
    for op in OPS.iter().filter(|op| op.token != TokenRule::None) {
        let path = concrete_path(op);
        for token in [None, Some("not-a-token")] {
            let mut request = sim
                .http
                .request(op.method.clone(), format!("{}{path}", sim.base_url));
            if let Some(version) = op.version {
                request = request.header("Version", version);
            }
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let (status, body) = sim.send(request).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{} {path} token {token:?}: {body}",
                op.operation_id
            );
            check_error(op, status, &body);
        }
    }
}

#[tokio::test]
async fn every_versioned_operation_refuses_a_missing_or_wrong_version_with_400() {
    let sim = Sim::default().await;
    for op in OPS
        .iter()
        .filter(|op| op.version.is_some() && op.token == TokenRule::Location)
    {
        let path = concrete_path(op);
        for version in [None, Some("1999-01-01")] {
            let mut request = sim
                .http
                .request(op.method.clone(), format!("{}{path}", sim.base_url))
                .bearer_auth(PIT);
            if let Some(version) = version {
                request = request.header("Version", version);
            }
            let (status, body) = sim.send(request).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{} version {version:?}: {body}",
                op.operation_id
            );
            check_error(op, status, &body);
            assert!(
                body["message"].as_str().unwrap().contains("Version"),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn a_token_without_the_scope_is_refused_with_403_and_one_with_it_is_not() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    sim.world().tokens.access.write().insert(
        "read-only-token".into(),
        AccessGrant {
            kind: TokenKind::Location,
            app_id: "read-only-app".into(),
            location_id: Some(location_id),
            company_id: sim.world().config.company_id.clone(),
            user_id: "u1".into(),
            scopes: vec!["contacts.readonly".into()],
            expires_at: None,
        },
    );
    let mut n_refused = 0;
    for op in OPS.iter().filter(|op| op.token == TokenRule::Location) {
        let path = concrete_path(op);
        let request = sim
            .http
            .request(op.method.clone(), format!("{}{path}", sim.base_url))
            .bearer_auth("read-only-token")
            .header("Version", op.version.unwrap())
            .json(&json!({}));
        let (status, body) = sim.send(request).await;
        if op.scope == Some("contacts.readonly") {
            assert_ne!(status, StatusCode::FORBIDDEN, "{}: {body}", op.operation_id);
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{}: {body}", op.operation_id);
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains(op.scope.unwrap()),
                "{body}"
            );
            check_error(op, status, &body);
            n_refused += 1;
        }
    }
    // 21 contacts writes and 5 calendar operations need more than contacts.readonly.
    assert!(n_refused >= 25, "{n_refused}");
}

/// A value of the wrong JSON type for `schema`.
fn wrong_value(schema: &Value) -> Value {
    let kind = match &schema["type"] {
        Value::String(kind) => kind.as_str(),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("string"),
        _ => "object",
    };
    match kind {
        "string" => json!(12345),
        "boolean" => json!("not-a-boolean"),
        "number" | "integer" => json!("not-a-number"),
        "array" => json!("not-an-array"),
        _ => json!(12345),
    }
}

#[tokio::test]
async fn every_body_schema_refuses_a_wrongly_typed_field_with_422_naming_it() {
    let sim = Sim::default().await;
    let mut n_checked = 0;
    for op in OPS
        .iter()
        .filter(|op| spec::request_validator(op.operation_id).is_some())
    {
        let Some((file, item)) = spec::document(op.spec)["paths"][op.path]
            [op.method.as_str().to_lowercase()]
        .pointer("/requestBody/content/application~1json/schema")
        .map(|schema| (op.spec, schema)) else {
            continue;
        };
        let schema = spec::resolve(file, item);
        let properties = schema["properties"].as_object().unwrap();
        // Prefer a property with a plain type, so the wrong value is unambiguous.
        let Some((field, field_schema)) = properties
            .iter()
            .find(|(_, property)| property["type"].is_string())
        else {
            continue;
        };
        let body = json!({ field.as_str(): wrong_value(field_schema) });
        let path = concrete_path(op);
        let request = sim
            .http
            .request(op.method.clone(), format!("{}{path}", sim.base_url))
            .bearer_auth(PIT)
            .header("Version", op.version.unwrap())
            .json(&body);
        let (status, answer) = sim.send(request).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{} {body}: {answer}",
            op.operation_id
        );
        check_error(op, status, &answer);
        let messages = answer["message"].as_array().unwrap();
        assert!(
            messages
                .iter()
                .any(|m| m.as_str().unwrap().contains(field.as_str())),
            "{}: {answer}",
            op.operation_id
        );
        n_checked += 1;
    }
    assert!(
        n_checked >= 15,
        "only {n_checked} operations had a checkable body schema"
    );
}

#[tokio::test]
async fn undeclared_body_properties_are_refused_and_unknown_routes_answer_404() {
    let sim = Sim::default().await;
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/",
            Some(json!({"locationId": sim.location_id(), "favouriteFlower": "peony"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["message"][0],
        "property favouriteFlower should not exist"
    );

    let (status, body) = sim.call(Method::GET, "/no/such/route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["statusCode"], 404);
    assert_eq!(body["message"], "Cannot GET /no/such/route");
}

#[tokio::test]
async fn malformed_json_is_a_400_that_says_so() {
    let sim = Sim::default().await;
    let request = sim
        .request(Method::POST, "/contacts/")
        .header("content-type", "application/json")
        .body("{\"locationId\": ");
    let (status, body) = sim.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("Invalid JSON"),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------------
// The Version values of the official SDKs: 2023-02-21 (Node) everywhere, v3 (Python) on v3 paths.

/// Sends `op` at `path` with `version` and the PIT, with an empty JSON body.
async fn with_version(sim: &Sim, op: &OpSpec, path: &str, version: &str) -> (StatusCode, Value) {
    let request = sim
        .http
        .request(op.method.clone(), format!("{}{path}", sim.base_url))
        .bearer_auth(PIT)
        .header("Version", version)
        .json(&json!({}));
    sim.send(request).await
}

/// Whether an answer is the gate's refusal of the `Version` header.
fn is_version_refusal(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::BAD_REQUEST
        && body["message"]
            .as_str()
            .is_some_and(|message| message.contains("Version"))
}

#[tokio::test]
async fn the_node_sdk_version_passes_on_every_v2_operation() {
    let sim = Sim::default().await;
    for op in OPS.iter().filter(|op| op.token == TokenRule::Location) {
        let (status, body) = with_version(&sim, op, &concrete_path(op), NODE_SDK_VERSION).await;
        assert!(
            !is_version_refusal(status, &body),
            "{} refused {NODE_SDK_VERSION}: {body}",
            op.operation_id
        );
    }
}

#[tokio::test]
async fn v3_passes_exactly_on_the_paths_the_v3_spec_serves() {
    let sim = Sim::default().await;
    let mut n_v3 = 0;
    for op in OPS.iter().filter(|op| op.token == TokenRule::Location) {
        let path = concrete_path(op);
        let (status, body) = with_version(&sim, op, &path, V3_VERSION).await;
        let in_v3_spec = op.spec == SpecFile::Contacts
            && spec::document(SpecFile::ContactsV3)["paths"][op.path]
                [op.method.as_str().to_lowercase()]
            .is_object();
        assert_eq!(
            !is_version_refusal(status, &body),
            in_v3_spec,
            "{} {path} with v3: {status} {body}",
            op.operation_id
        );
        n_v3 += usize::from(in_v3_spec);
    }
    // 31 v3 operations, less the one whose v3 path differs (campaigns/remove-all).
    assert_eq!(n_v3, 30);

    // The v3 spelling of "remove from every campaign" takes v3 only; the v2 one never takes v3.
    let remove_all = OPS
        .iter()
        .find(|op| op.operation_id == "remove-contact-from-every-campaign")
        .unwrap();
    let v3_path = "/contacts/NoSuchId000000000000/campaigns/remove-all";
    let (status, body) = with_version(&sim, remove_all, v3_path, V3_VERSION).await;
    assert!(!is_version_refusal(status, &body), "{status} {body}");
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    for version in ["2021-07-28", NODE_SDK_VERSION] {
        let (status, body) = with_version(&sim, remove_all, v3_path, version).await;
        assert!(
            is_version_refusal(status, &body),
            "{version}: {status} {body}"
        );
    }

    // Any other value is still refused, v3-looking ones included.
    for version in ["v2", "V3", "2021-07-29", "legacy"] {
        let op = OPS
            .iter()
            .find(|op| op.operation_id == "get-contact")
            .unwrap();
        let (status, body) = with_version(&sim, op, &concrete_path(op), version).await;
        assert!(
            is_version_refusal(status, &body),
            "{version}: {status} {body}"
        );
        check_error(op, status, &body);
    }
}

#[tokio::test]
async fn lenient_version_still_takes_any_listed_value_on_any_operation() {
    let sim = Sim::start(tether_sim::ghl::GhlSimConfig {
        strict_version: false,
        ..config()
    })
    .await;
    let op = OPS
        .iter()
        .find(|op| op.operation_id == "get-calendars")
        .unwrap();
    for version in ["2021-07-28", NODE_SDK_VERSION] {
        let (status, body) = with_version(&sim, op, "/calendars/", version).await;
        assert!(!is_version_refusal(status, &body), "{version}: {body}");
    }
    let (status, body) = with_version(&sim, op, "/calendars/", "1999-01-01").await;
    assert!(is_version_refusal(status, &body), "{body}");
}

#[tokio::test]
async fn every_v3_body_schema_refuses_a_wrongly_typed_field_with_422_naming_it() {
    let sim = Sim::default().await;
    let mut n_checked = 0;
    for op in OPS
        .iter()
        .filter(|op| spec::request_validator_for(op.operation_id, Dialect::V3).is_some())
    {
        if op.token != TokenRule::Location {
            continue;
        }
        let item = &spec::document(SpecFile::ContactsV3)["paths"][spec::path_in(op, Dialect::V3)]
            [op.method.as_str().to_lowercase()];
        let schema = spec::resolve(
            SpecFile::ContactsV3,
            item.pointer("/requestBody/content/application~1json/schema")
                .unwrap(),
        );
        let Some((field, field_schema)) = schema["properties"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, property)| property["type"].is_string())
        else {
            continue;
        };
        let body = json!({ field.as_str(): wrong_value(field_schema) });
        let request = sim
            .http
            .request(
                op.method.clone(),
                format!("{}{}", sim.base_url, concrete_path(op)),
            )
            .bearer_auth(PIT)
            .header("Version", V3_VERSION)
            .json(&body);
        let (status, answer) = sim.send(request).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{} {body}: {answer}",
            op.operation_id
        );
        if spec::response_schema_for(op.operation_id, 422, Dialect::V3).is_some() {
            assert_conforms_in(op.operation_id, 422, Dialect::V3, &answer);
        }
        assert!(
            answer["message"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m.as_str().unwrap().contains(field.as_str())),
            "{}: {answer}",
            op.operation_id
        );
        n_checked += 1;
    }
    assert!(n_checked >= 15, "only {n_checked} v3 bodies checked");

    // v3 names its DND channels in lower camel case; the v2 spelling is not a v3 field.
    let (status, answer) = sim
        .send(
            sim.http
                .post(format!("{}/contacts/", sim.base_url))
                .bearer_auth(PIT)
                .header("Version", V3_VERSION)
                .json(&json!({"locationId": sim.location_id(), "dndSettings": {"call": {"status": "sometimes"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer.to_string().contains("dndSettings"), "{answer}");
}

#[tokio::test]
async fn every_v3_contacts_answer_matches_the_v3_spec() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let (campaign_id, workflow_id, business_id) = {
        let location = sim.world().location(&location_id).unwrap();
        let location = location.read();
        (
            location.campaigns[0].clone(),
            location.workflows[0].clone(),
            location.businesses.keys().next().unwrap().clone(),
        )
    };

    let created = sim
        .call_v3_ok(
            "create-contact",
            Method::POST,
            "/contacts/",
            Some(json!({
                "locationId": location_id,
                "firstName": "Vera",
                "lastName": "Three",
                "email": "vera@example.com",
                "dateOfBirth": "1990-09-25",
                "dndSettings": {"call": {"status": "active", "message": "no calls"}, "sms": {"status": "inactive"}},
                "customFields": [{"id": "free-field", "fieldValue": ["a", "b"]}],
                "tags": ["v3"]
            })),
            201,
        )
        .await;
    let contact = &created["contact"];
    let id = contact["id"].as_str().unwrap().to_owned();
    // v3 keys on the way out, and the record is stored as v2 reads it.
    assert_eq!(
        contact["dndSettings"]["call"]["status"], "active",
        "{contact}"
    );
    assert!(contact["dndSettings"].get("Call").is_none(), "{contact}");
    assert_eq!(
        contact["customFields"],
        json!([{"id": "free-field", "value": "[\"a\",\"b\"]"}])
    );
    let (_, v2_view) = sim
        .call(Method::GET, &format!("/contacts/{id}"), None)
        .await;
    assert_eq!(
        v2_view["contact"]["dndSettings"]["Call"]["message"],
        "no calls"
    );

    let got = sim
        .call_v3_ok(
            "get-contact",
            Method::GET,
            &format!("/contacts/{id}"),
            None,
            200,
        )
        .await;
    assert_eq!(got["contact"]["dndSettings"]["sms"]["status"], "inactive");
    let updated = sim
        .call_v3_ok(
            "update-contact",
            Method::PUT,
            &format!("/contacts/{id}"),
            Some(json!({"city": "Ghent", "dndSettings": {"email": {"status": "active"}}})),
            200,
        )
        .await;
    assert_eq!(updated["succeeded"], true, "{updated}");
    assert_eq!(
        updated["contact"]["dndSettings"]["email"]["status"],
        "active"
    );
    let upserted = sim
        .call_v3_ok(
            "upsert-contact",
            Method::POST,
            "/contacts/upsert",
            Some(json!({"locationId": location_id, "email": "vera@example.com", "lastName": "Upserted"})),
            200,
        )
        .await;
    assert_eq!(upserted["new"], false);
    assert_eq!(upserted["contact"]["id"], id.as_str());

    let contact_path = format!("/contacts/{id}");
    let tags = Some(json!({"tags": ["gold"]}));
    sim.call_v3_ok(
        "add-tags",
        Method::POST,
        &format!("{contact_path}/tags"),
        tags.clone(),
        201,
    )
    .await;
    sim.call_v3_ok(
        "remove-tags",
        Method::DELETE,
        &format!("{contact_path}/tags"),
        tags,
        200,
    )
    .await;

    let note = sim
        .call_v3_ok(
            "create-note",
            Method::POST,
            &format!("{contact_path}/notes"),
            Some(json!({"body": "Likes tulips"})),
            201,
        )
        .await;
    let note_path = format!(
        "{contact_path}/notes/{}",
        note["note"]["id"].as_str().unwrap()
    );
    sim.call_v3_ok(
        "get-all-notes",
        Method::GET,
        &format!("{contact_path}/notes"),
        None,
        200,
    )
    .await;
    sim.call_v3_ok("get-note", Method::GET, &note_path, None, 200)
        .await;
    sim.call_v3_ok(
        "update-note",
        Method::PUT,
        &note_path,
        Some(json!({"body": "Loves tulips"})),
        200,
    )
    .await;
    let deleted = sim
        .call_v3_ok("delete-note", Method::DELETE, &note_path, None, 200)
        .await;
    assert_eq!(deleted["succeeded"], true, "{deleted}");

    let task = sim
        .call_v3_ok(
            "create-task",
            Method::POST,
            &format!("{contact_path}/tasks"),
            Some(json!({"title": "Call back", "dueDate": "2030-01-01T10:00:00Z", "completed": false})),
            201,
        )
        .await;
    let task_path = format!(
        "{contact_path}/tasks/{}",
        task["task"]["id"].as_str().unwrap()
    );
    sim.call_v3_ok(
        "get-all-tasks",
        Method::GET,
        &format!("{contact_path}/tasks"),
        None,
        200,
    )
    .await;
    sim.call_v3_ok("get-task", Method::GET, &task_path, None, 200)
        .await;
    sim.call_v3_ok(
        "update-task",
        Method::PUT,
        &task_path,
        Some(json!({"title": "Call back soon"})),
        200,
    )
    .await;
    sim.call_v3_ok(
        "update-task-completed",
        Method::PUT,
        &format!("{task_path}/completed"),
        Some(json!({"completed": true})),
        200,
    )
    .await;
    sim.call_v3_ok("delete-task", Method::DELETE, &task_path, None, 200)
        .await;

    let followers = Some(json!({"followers": ["user-1"]}));
    sim.call_v3_ok(
        "add-followers-contact",
        Method::POST,
        &format!("{contact_path}/followers"),
        followers.clone(),
        201,
    )
    .await;
    sim.call_v3_ok(
        "remove-followers-contact",
        Method::DELETE,
        &format!("{contact_path}/followers"),
        followers,
        200,
    )
    .await;
    let campaign_path = format!("{contact_path}/campaigns/{campaign_id}");
    sim.call_v3_ok(
        "add-contact-to-campaign",
        Method::POST,
        &campaign_path,
        Some(json!({})),
        201,
    )
    .await;
    sim.call_v3_ok(
        "remove-contact-from-campaign",
        Method::DELETE,
        &campaign_path,
        None,
        200,
    )
    .await;
    let removed_all = sim
        .call_v3_ok(
            "remove-contact-from-every-campaign",
            Method::DELETE,
            &format!("{contact_path}/campaigns/remove-all"),
            None,
            200,
        )
        .await;
    assert_eq!(removed_all["succeeded"], true, "{removed_all}");
    let workflow_path = format!("{contact_path}/workflow/{workflow_id}");
    sim.call_v3_ok(
        "add-contact-to-workflow",
        Method::POST,
        &workflow_path,
        Some(json!({})),
        200,
    )
    .await;
    sim.call_v3_ok(
        "delete-contact-from-workflow",
        Method::DELETE,
        &workflow_path,
        Some(json!({})),
        200,
    )
    .await;
    sim.call_v3_ok(
        "get-appointments-for-contact",
        Method::GET,
        &format!("{contact_path}/appointments"),
        None,
        200,
    )
    .await;
    let bulk = sim
        .call_v3_ok(
            "create-association",
            Method::POST,
            "/contacts/bulk/tags/update/add",
            Some(json!({"contacts": [id], "tags": ["bulk"], "locationId": location_id})),
            201,
        )
        .await;
    assert_eq!(bulk["succeeded"], bulk["succeded"], "{bulk}");
    sim.call_v3_ok(
        "add-remove-contact-from-business",
        Method::POST,
        "/contacts/bulk/business",
        Some(json!({"locationId": location_id, "ids": [id], "businessId": business_id})),
        200,
    )
    .await;
    let by_business = sim
        .call_v3_ok(
            "get-contacts-by-businessId",
            Method::GET,
            &format!("/contacts/business/{business_id}?locationId={location_id}"),
            None,
            200,
        )
        .await;
    assert!(
        by_business["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|listed| listed["id"] == id.as_str() && listed["dndSettings"]["call"].is_object()),
        "{by_business}"
    );

    // Search and duplicate lookup declare no 200 schema: check the v3 DND keys by hand.
    let request = sim
        .http
        .post(format!("{}/contacts/search", sim.base_url))
        .bearer_auth(PIT)
        .header("Version", V3_VERSION)
        .json(&json!({"locationId": location_id, "pageLimit": 10, "query": "vera"}));
    let (status, found) = sim.send(request).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["contacts"][0]["dndSettings"]["call"]["status"], "active",
        "{found}"
    );

    let deleted = sim
        .call_v3_ok("delete-contact", Method::DELETE, &contact_path, None, 200)
        .await;
    assert_eq!(deleted["succeeded"], true, "{deleted}");
}

#[tokio::test]
async fn the_v3_token_endpoint_takes_camel_case_and_answers_the_v3_schema() {
    let sim = Sim::default().await;
    let redirect_uri = "http://127.0.0.1:9/callback";
    let response = sim
        .http
        .get(format!("{}/oauth/chooselocation", sim.base_url))
        .query(&[
            ("response_type", "code"),
            ("client_id", "sim-client-id"),
            ("redirect_uri", redirect_uri),
            ("scope", "contacts.readonly"),
            ("location_id", &sim.location_id()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();

    // A JSON body (only v3 takes one), camelCase fields.
    let (status, tokens) = sim
        .send(
            sim.http
                .post(format!("{}/oauth/token", sim.base_url))
                .header("Version", V3_VERSION)
                .json(&json!({
                    "clientId": "sim-client-id",
                    "clientSecret": "sim-client-secret",
                    "grantType": "authorization_code",
                    "code": code,
                    "userType": "Location",
                    "redirectUri": redirect_uri
                })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_conforms_in("get-access-token", 200, Dialect::V3, &tokens);
    assert_eq!(tokens["tokenType"], "Bearer");
    assert!(tokens.get("access_token").is_none(), "{tokens}");

    // A form body, as the official Python SDK sends it.
    let refresh_token = tokens["refreshToken"].as_str().unwrap();
    let (status, refreshed) = sim
        .send(
            sim.http
                .post(format!("{}/oauth/token", sim.base_url))
                .header("Version", V3_VERSION)
                .form(&[
                    ("clientId", "sim-client-id"),
                    ("clientSecret", "sim-client-secret"),
                    ("grantType", "refresh_token"),
                    ("refreshToken", refresh_token),
                    ("userType", "Location"),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_conforms_in("get-access-token", 200, Dialect::V3, &refreshed);
    let access_token = refreshed["accessToken"].as_str().unwrap();
    let (status, body) = sim
        .send(
            sim.http
                .get(format!("{}/contacts/NoSuchId000000000000", sim.base_url))
                .bearer_auth(access_token)
                .header("Version", V3_VERSION),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // The spent refresh token is refused with the v3 spec's message.
    let (status, body) = sim
        .send(
            sim.http
                .post(format!("{}/oauth/token", sim.base_url))
                .header("Version", V3_VERSION)
                .form(&[
                    ("clientId", "sim-client-id"),
                    ("clientSecret", "sim-client-secret"),
                    ("grantType", "refresh_token"),
                    ("refreshToken", refresh_token),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_conforms_in("get-access-token", 400, Dialect::V3, &body);
    assert_eq!(body["message"], "Invalid grant: refresh token is invalid");
}
