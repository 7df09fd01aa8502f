//! The GHL polling triggers against the simulator, called as the engine calls them (through the
//! catalog, with the cursor stored as JSON text between calls): every record once whatever the
//! page size, ties on one millisecond included, then only what changed.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use tether_connectors::ghl::catalog::{invoke, operations};
use tether_connectors::ghl::models::ContactInput;
use tether_connectors::ghl::{ContactId, Error};
use tether_core::catalog::OperationKind;
use tether_sim::ghl::model::Contact;

use crate::support::TestSim;

const TRIGGERS: [&str; 6] = [
    "ghl.contact.new",
    "ghl.contact.updated",
    "ghl.contact.task.new",
    "ghl.contact.note.new",
    "ghl.contact.appointment.new",
    "ghl.business.contact.new",
];

/// One call of a trigger: its records and its cursor, which goes through a string as the store
/// keeps it. The output must match the operation's schema.
async fn poll(sim: &TestSim, id: &str, mut input: Value, cursor: &str) -> (Vec<Value>, String) {
    input["cursor"] = serde_json::from_str(cursor).unwrap();
    let output = invoke(&sim.client, id, input.clone())
        .await
        .unwrap_or_else(|error| panic!("{id} {input}: {error:?}"));
    let operation = operations()
        .into_iter()
        .find(|operation| operation.id == id)
        .unwrap();
    let validator = jsonschema::validator_for(&operation.output_schema).unwrap();
    assert!(validator.is_valid(&output), "{id}: {output:#}");
    let records = output["records"].as_array().unwrap().clone();
    (records, output["cursor"].to_string())
}

/// Polls as the engine does (again while a call came back full) and returns the ids in order.
async fn drain(
    sim: &TestSim,
    id: &str,
    params: &Value,
    limit: usize,
    cursor: &mut String,
) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..10_000 {
        let mut input = params.clone();
        input["limit"] = json!(limit);
        let (records, next) = poll(sim, id, input, cursor).await;
        assert!(records.len() <= limit, "{id}: {} > {limit}", records.len());
        ids.extend(ids_of(&records));
        *cursor = next;
        if records.len() < limit {
            return ids;
        }
    }
    panic!("{id} never came back short");
}

fn ids_of(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that `ids` holds each of `expected` exactly once.
fn assert_once(ids: &[String], expected: &BTreeSet<String>, what: &str) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "{what}: repeated {repeated:?}");
    let got: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(&got, expected, "{what}");
}

fn millis(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.timestamp_millis()).unwrap()
}

/// Puts a contact straight into the simulator's location, with the given times.
fn insert_contact(sim: &TestSim, id: &str, added: DateTime<Utc>, updated: DateTime<Utc>) {
    let location = sim.world().location(&sim.location_id()).unwrap();
    location.write().insert_contact(Contact {
        id: id.to_owned(),
        location_id: sim.location_id(),
        first_name: Some("Poll".into()),
        email: Some(format!("{}@example.com", id.to_lowercase())),
        date_added: added,
        date_updated: updated,
        ..Contact::default()
    });
}

#[tokio::test]
async fn contact_triggers_hand_out_each_version_once() {
    let sim = TestSim::start().await;
    // A day back, so updates through the API come strictly later.
    let base = millis(Utc::now() - Duration::days(1));
    let tie = base + Duration::milliseconds(500);
    let mut all = BTreeSet::new();
    for n in 0..1_300 {
        let id = sim.world().new_id();
        // Half the contacts share the newest millisecond (the cursor ends on it), the others
        // come in small groups sharing earlier ones.
        let (added, updated) = if n % 2 == 0 {
            (tie, tie)
        } else {
            let at = base + Duration::milliseconds(i64::from(n % 97));
            (at - Duration::milliseconds(i64::from(n % 5)), at)
        };
        insert_contact(&sim, &id, added, updated);
        all.insert(id);
    }

    for trigger in ["ghl.contact.new", "ghl.contact.updated"] {
        for limit in [7, 100, 500] {
            let mut cursor = "null".to_owned();
            let ids = drain(&sim, trigger, &json!({}), limit, &mut cursor).await;
            assert_once(&ids, &all, &format!("{trigger} by {limit}"));
            assert!(
                drain(&sim, trigger, &json!({}), limit, &mut cursor)
                    .await
                    .is_empty()
            );
        }

        // Stopped after a few calls, then resumed twice from the stored cursor.
        let mut cursor = "null".to_owned();
        let mut first = Vec::new();
        for _ in 0..3 {
            let (records, next) = poll(&sim, trigger, json!({"limit": 7}), &cursor).await;
            first.extend(ids_of(&records));
            cursor = next;
        }
        for limit in [100, 500] {
            let mut resumed = cursor.clone();
            let mut ids = first.clone();
            ids.extend(drain(&sim, trigger, &json!({}), limit, &mut resumed).await);
            assert_once(&ids, &all, &format!("{trigger} resumed by {limit}"));
        }
    }

    // The reconciliation poll, caught up on the big tie.
    let updated = "ghl.contact.updated";
    let mut cursor = "null".to_owned();
    drain(&sim, updated, &json!({}), 100, &mut cursor).await;
    let stored: Value = serde_json::from_str(&cursor).unwrap();
    assert_eq!(
        stored["time"],
        tie.to_rfc3339_opts(SecondsFormat::Millis, true)
    );

    // Written afterwards at the cursor's very millisecond, with an id sorting before all others.
    let late = "0000000000000000late";
    insert_contact(&sim, late, tie, tie);
    let (records, next) = poll(&sim, updated, json!({"limit": 100}), &cursor).await;
    assert_eq!(ids_of(&records), [late]);
    cursor = next;

    sim.world().advance_clock_ms(1_000);
    let changed: BTreeSet<String> = all.iter().step_by(300).cloned().collect();
    assert_eq!(changed.len(), 5);
    for id in &changed {
        let input = ContactInput {
            city: Some("Oslo".into()),
            ..ContactInput::default()
        };
        sim.client
            .contacts()
            .update(&ContactId::new(id.clone()), &input)
            .await
            .unwrap();
    }
    let (records, next) = poll(&sim, updated, json!({"limit": 100}), &cursor).await;
    assert_once(&ids_of(&records), &changed, "the updated contacts");
    for record in &records {
        assert_eq!(record["city"], "Oslo");
        assert_eq!(record["updated_at"], record["dateUpdated"]);
        assert_eq!(record["created_at"], record["dateAdded"]);
        assert!(record.get("searchAfter").is_none(), "{record}");
    }
    let (records, _) = poll(&sim, updated, json!({"limit": 100}), &next).await;
    assert!(records.is_empty(), "{records:?}");

    // The new-contact trigger does not report updates.
    let mut cursor = "null".to_owned();
    drain(&sim, "ghl.contact.new", &json!({}), 500, &mut cursor).await;
    let (records, _) = poll(&sim, "ghl.contact.new", json!({"limit": 100}), &cursor).await;
    assert!(records.is_empty(), "{records:?}");
    let fresh = sim.contact("fresh@example.com").await;
    let (records, _) = poll(&sim, "ghl.contact.new", json!({"limit": 100}), &cursor).await;
    assert_eq!(ids_of(&records), [fresh.id.as_str()]);
}

#[tokio::test]
async fn contact_children_triggers_hand_out_only_new_records() {
    let sim = TestSim::start().await;
    let seeded = sim.seeded();
    let contact = sim.contact("kids@example.com").await;
    let params = json!({"contactId": contact.id.as_str()});
    let create = |id: &'static str, n: u32| {
        let client = sim.client.clone();
        let contact_id = contact.id.as_str().to_owned();
        let calendar = seeded.calendars[0].clone();
        async move {
            let input = match id {
                "ghl.task.create" => json!({
                    "contactId": contact_id, "title": format!("Task {n}"), "dueDate": "2030-01-01T10:00:00Z"
                }),
                "ghl.note.create" => json!({"contactId": contact_id, "body": format!("Note {n}")}),
                _ => json!({
                    "calendarId": calendar,
                    "contactId": contact_id,
                    "startTime": format!("2030-03-{:02}T10:00:00+00:00", n + 1),
                    "ignoreFreeSlotValidation": true,
                    "ignoreDateRange": true
                }),
            };
            let created = invoke(&client, id, input).await.unwrap();
            created["id"].as_str().unwrap().to_owned()
        }
    };
    for (trigger, creator) in [
        ("ghl.contact.task.new", "ghl.task.create"),
        ("ghl.contact.note.new", "ghl.note.create"),
        ("ghl.contact.appointment.new", "ghl.appointment.create"),
    ] {
        let mut existing = BTreeSet::new();
        for n in 0..3 {
            existing.insert(create(creator, n).await);
        }
        let mut cursor = "null".to_owned();
        let ids = drain(&sim, trigger, &params, 2, &mut cursor).await;
        assert_once(&ids, &existing, trigger);
        let (records, next) = poll(
            &sim,
            trigger,
            json!({"contactId": contact.id.as_str()}),
            &cursor,
        )
        .await;
        assert!(records.is_empty(), "{trigger}: {records:?}");
        cursor = next;

        let mut new = BTreeSet::new();
        for n in 3..5 {
            new.insert(create(creator, n).await);
        }
        let ids = drain(&sim, trigger, &params, 100, &mut cursor).await;
        assert_once(&ids, &new, &format!("{trigger}, the new ones"));
        if trigger != "ghl.contact.task.new" {
            let (records, _) = poll(&sim, trigger, params.clone(), "null").await;
            assert!(
                records
                    .iter()
                    .all(|record| record["created_at"].as_str().is_some()),
                "{records:?}"
            );
        }
    }

    let mark = sim.log_mark();
    let refused = |id: &'static str, input: Value, path: &'static str| {
        let client = sim.client.clone();
        async move {
            let error = invoke(&client, id, input.clone()).await.unwrap_err();
            let Error::InvalidInput { path: found, .. } = &error else {
                panic!("{id} {input}: {error:?}");
            };
            assert_eq!(found, path, "{id} {input}");
        }
    };
    for trigger in &TRIGGERS[2..5] {
        refused(trigger, json!({"cursor": null, "limit": 5}), "contactId").await;
    }
    refused("ghl.business.contact.new", json!({}), "businessId").await;
    refused(
        "ghl.contact.note.new",
        json!({"contactId": "c", "cursor": {"time": "yesterday", "id": "x"}}),
        "cursor.time",
    )
    .await;
    refused(
        "ghl.contact.updated",
        json!({"cursor": {"time": "2024-01-01T00:00:00Z"}}),
        "cursor.id",
    )
    .await;
    refused("ghl.contact.new", json!({"limit": 0}), "limit").await;
    refused(
        "ghl.contact.task.new",
        json!({"contactId": "c", "cursor": {"seen": "a"}}),
        "cursor.seen",
    )
    .await;
    assert!(sim.log_since(mark).is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn business_trigger_hands_out_contacts_as_they_join() {
    let sim = TestSim::start().await;
    let business = sim.seeded().businesses[0].clone();
    let params = json!({"businessId": business});
    let join = |emails: &'static [&'static str]| {
        let sim = &sim;
        let business = business.clone();
        async move {
            let mut ids = Vec::new();
            for email in emails {
                ids.push(sim.contact(email).await.id);
            }
            let business_id = tether_connectors::ghl::BusinessId::new(business);
            sim.client
                .businesses()
                .set_contacts(&ids, Some(&business_id))
                .await
                .unwrap();
            ids.into_iter()
                .map(|id| id.as_str().to_owned())
                .collect::<BTreeSet<_>>()
        }
    };
    let first = join(&["b1@example.com", "b2@example.com", "b3@example.com"]).await;
    let mut cursor = "null".to_owned();
    let ids = drain(&sim, "ghl.business.contact.new", &params, 2, &mut cursor).await;
    assert_once(&ids, &first, "the first members");
    let second = join(&["b4@example.com"]).await;
    let ids = drain(&sim, "ghl.business.contact.new", &params, 100, &mut cursor).await;
    assert_once(&ids, &second, "the member who joined");
}

#[test]
fn triggers_are_in_the_catalog_with_valid_schemas() {
    let catalog = tether_connectors::catalog();
    for id in TRIGGERS {
        let operation = catalog
            .iter()
            .find(|operation| operation.id == id)
            .unwrap_or_else(|| panic!("{id} is not in the catalog"));
        assert_eq!(operation.kind, OperationKind::Trigger, "{id}");
        assert_eq!(operation.scopes, ["contacts.readonly"], "{id}");
        for schema in [&operation.input_schema, &operation.output_schema] {
            jsonschema::meta::validate(schema).unwrap_or_else(|error| panic!("{id}: {error}"));
            jsonschema::validator_for(schema).unwrap();
        }
        let properties = operation.input_schema["properties"].as_object().unwrap();
        assert!(
            properties.contains_key("cursor") && properties.contains_key("limit"),
            "{id}"
        );
        let validator = jsonschema::validator_for(&operation.output_schema).unwrap();
        assert!(
            validator.is_valid(&json!({"records": [], "cursor": null})),
            "{id}"
        );
        assert!(
            !validator.is_valid(&json!({"records": [{"email": "no id"}], "cursor": null})),
            "{id}"
        );
    }
}
