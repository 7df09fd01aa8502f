//! Expressions: typed values, the contact-sync filters, and partial mapping.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tether_engine::expr::{Context, evaluate, map_record};

fn context() -> Context {
    let now: DateTime<Utc> = "2026-03-04T05:06:07Z".parse().unwrap();
    let mut context = Context::new(
        json!({
            "id": "c1",
            "email": "  Ada@Example.COM ",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "phone": "(555) 123-4567",
            "score": 42,
            "tags": ["vip", "florist"],
            "address": {"city": "London"},
            "dateAdded": "2026-01-02T03:04:05Z",
        }),
        now,
    )
    .with_flow("f", "Flow", "abc");
    context.set_step_output("lookup", json!({"id": "cust-9"}));
    context
}

fn check(expression: &str, expected: Value) {
    assert_eq!(
        evaluate(expression, &context()).unwrap(),
        expected,
        "{expression}"
    );
}

#[test]
fn a_single_expression_keeps_its_type() {
    check("{{ trigger.score }}", json!(42));
    check("{{ trigger.score + 1 }}", json!(43));
    check("{{ trigger.tags }}", json!(["vip", "florist"]));
    check("{{ trigger.address }}", json!({"city": "London"}));
    check("{{ trigger.score > 10 }}", json!(true));
    check("{{ steps.lookup.output.id }}", json!("cust-9"));
    check("{{ flow.version }}", json!("abc"));
}

#[test]
fn templates_render_strings_and_literals_stay() {
    check("{{ trigger.score }} points", json!("42 points"));
    check("{{ trigger.firstName }}-{{ trigger.id }}", json!("Ada-c1"));
    check("plain text", json!("plain text"));
}

#[test]
fn contact_sync_filters() {
    check(
        "{{ trigger.email | trim | lower }}",
        json!("ada@example.com"),
    );
    check("{{ trigger.missing | default('none') }}", json!("none"));
    check(
        "{{ full_name(trigger.firstName, trigger.lastName) }}",
        json!("Ada Lovelace"),
    );
    check("{{ full_name(trigger.firstName, none) }}", json!("Ada"));
    check("{{ trigger.phone | e164 }}", json!("+15551234567"));
    check("{{ trigger.dateAdded | date }}", json!("2026-01-02"));
    check(
        "{{ trigger.dateAdded | date('%d/%m/%Y %H:%M') }}",
        json!("02/01/2026 03:04"),
    );
    check("{{ now | date('%Y') }}", json!("2026"));
}

#[test]
fn an_undefined_variable_is_named() {
    let error = evaluate("{{ trigger.emial | lower }}", &context()).unwrap_err();
    assert_eq!(error.message, "undefined variable 'trigger.emial'");
    let error = evaluate("Hello {{ trigger.nope }}", &context()).unwrap_err();
    assert_eq!(error.message, "undefined variable 'trigger.nope'");
}

#[test]
fn mapping_keeps_good_fields_and_names_bad_ones() {
    let fields: BTreeMap<String, Value> = [
        ("email", json!("{{ trigger.email | trim | lower }}")),
        ("score", json!("{{ trigger.score }}")),
        ("phone", json!("{{ trigger.firstName | e164 }}")),
        (
            "nested",
            json!({"city": "{{ trigger.address.town }}", "kind": "customer"}),
        ),
        ("fixed", json!(7)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let (record, problems) = map_record(&fields, &context());
    assert_eq!(
        record,
        json!({"email": "ada@example.com", "score": 42, "fixed": 7})
    );
    let described: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(described.len(), 2, "{described:?}");
    assert_eq!(
        described[0],
        "nested.city: undefined variable 'trigger.address.town'"
    );
    assert!(
        described[1].starts_with("phone: ") && described[1].contains("not a phone number"),
        "{}",
        described[1]
    );
}
