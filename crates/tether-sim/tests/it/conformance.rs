//! Spec-driven conformance of the gate's answers, for every operation in the table: no token
//! (401), no `Version` (400), a token without the scope (403) and a body of the wrong shape (422),
//! each checked against the schema the official spec declares for that status where it declares one.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tether_sim::ghl::auth::{AccessGrant, TokenKind};
use tether_sim::ghl::ops::{OPS, OpSpec, TokenRule};
use tether_sim::ghl::spec;

use crate::support::{PIT, Sim, assert_conforms};

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
