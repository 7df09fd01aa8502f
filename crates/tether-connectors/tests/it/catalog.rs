//! The catalog against the simulator: every operation runs from JSON through `invoke`, bad
//! inputs are refused with the field named, and unknown ids are errors.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tether_connectors::ghl::Error;
use tether_connectors::ghl::catalog::{invoke, operations};

use crate::support::TestSim;

/// Runs `id` with `input` and returns the output, recording the id; the input and the output
/// must match the schemas the catalog publishes for the operation.
async fn run(sim: &TestSim, ran: &mut BTreeSet<String>, id: &str, input: Value) -> Value {
    let operation = operations()
        .into_iter()
        .find(|operation| operation.id == id)
        .unwrap();
    let as_object = if input.is_null() {
        json!({})
    } else {
        input.clone()
    };
    assert_matches(id, "input", &operation.input_schema, &as_object);
    let output = invoke(&sim.client, id, input.clone())
        .await
        .unwrap_or_else(|error| panic!("{id} {input}: {error:?}"));
    assert_matches(id, "output", &operation.output_schema, &output);
    ran.insert(id.to_owned());
    output
}

fn assert_matches(id: &str, which: &str, schema: &Value, instance: &Value) {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(schema)
        .unwrap_or_else(|error| panic!("{id} {which} schema: {error}"));
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{id} {which} does not match its schema: {problems:#?}\n{instance:#}"
    );
}

#[tokio::test]
async fn every_operation_runs_from_json() {
    let sim = TestSim::start().await;
    let seeded = sim.seeded();
    let (user, campaign, workflow) = (&seeded.users[0], &seeded.campaigns[0], &seeded.workflows[0]);
    let (business, calendar) = (&seeded.businesses[0], &seeded.calendars[0]);
    let mut ran = BTreeSet::new();

    let contact = run(
        &sim,
        &mut ran,
        "ghl.contact.create",
        json!({"firstName": "Json", "email": "json@example.com"}),
    )
    .await;
    let contact_id = contact["id"].as_str().unwrap().to_owned();
    let id = json!(contact_id);
    run(&sim, &mut ran, "ghl.contact.get", json!({"contactId": id})).await;
    let updated = run(
        &sim,
        &mut ran,
        "ghl.contact.update",
        json!({"contactId": id, "city": "Oslo"}),
    )
    .await;
    assert_eq!(updated["city"], "Oslo");
    let upserted = run(
        &sim,
        &mut ran,
        "ghl.contact.upsert",
        json!({"email": "json@example.com", "state": "Oslo"}),
    )
    .await;
    assert_eq!(upserted["new"], false);
    let page = run(
        &sim,
        &mut ran,
        "ghl.contact.search",
        json!({"pageLimit": 5}),
    )
    .await;
    assert_eq!(page["contacts"].as_array().unwrap().len(), 1);
    let duplicate = run(
        &sim,
        &mut ran,
        "ghl.contact.find_duplicate",
        json!({"email": "json@example.com"}),
    )
    .await;
    assert_eq!(duplicate["contact"]["id"], id);
    run(&sim, &mut ran, "ghl.contact.list", json!({"limit": 5})).await;
    run(
        &sim,
        &mut ran,
        "ghl.contact.list_appointments",
        json!({"contactId": id}),
    )
    .await;

    run(
        &sim,
        &mut ran,
        "ghl.business.set_contacts",
        json!({"contacts": [id], "businessId": business}),
    )
    .await;
    let members = run(
        &sim,
        &mut ran,
        "ghl.business.list_contacts",
        json!({"businessId": business}),
    )
    .await;
    assert_eq!(members["contacts"][0]["id"], id);

    run(
        &sim,
        &mut ran,
        "ghl.tag.add",
        json!({"contactId": id, "tags": ["a", "b"]}),
    )
    .await;
    let tags = run(
        &sim,
        &mut ran,
        "ghl.tag.remove",
        json!({"contactId": id, "tags": ["a"]}),
    )
    .await;
    assert_eq!(tags, json!({"tags": ["b"]}));
    run(
        &sim,
        &mut ran,
        "ghl.tag.bulk_update",
        json!({"action": "add", "contacts": [id], "tags": ["c"]}),
    )
    .await;

    let task = run(
        &sim,
        &mut ran,
        "ghl.task.create",
        json!({"contactId": id, "title": "T", "dueDate": "2030-01-01T10:00:00Z"}),
    )
    .await;
    let task_id = task["id"].clone();
    run(&sim, &mut ran, "ghl.task.list", json!({"contactId": id})).await;
    run(
        &sim,
        &mut ran,
        "ghl.task.get",
        json!({"contactId": id, "taskId": task_id}),
    )
    .await;
    run(
        &sim,
        &mut ran,
        "ghl.task.update",
        json!({"contactId": id, "taskId": task_id, "body": "B"}),
    )
    .await;
    let done = run(
        &sim,
        &mut ran,
        "ghl.task.complete",
        json!({"contactId": id, "taskId": task_id}),
    )
    .await;
    assert_eq!(done["completed"], true);
    run(
        &sim,
        &mut ran,
        "ghl.task.delete",
        json!({"contactId": id, "taskId": task_id}),
    )
    .await;

    let note = run(
        &sim,
        &mut ran,
        "ghl.note.create",
        json!({"contactId": id, "body": "N"}),
    )
    .await;
    let note_id = note["id"].clone();
    run(&sim, &mut ran, "ghl.note.list", json!({"contactId": id})).await;
    run(
        &sim,
        &mut ran,
        "ghl.note.get",
        json!({"contactId": id, "noteId": note_id}),
    )
    .await;
    run(
        &sim,
        &mut ran,
        "ghl.note.update",
        json!({"contactId": id, "noteId": note_id, "pinned": true}),
    )
    .await;
    run(
        &sim,
        &mut ran,
        "ghl.note.delete",
        json!({"contactId": id, "noteId": note_id}),
    )
    .await;

    run(
        &sim,
        &mut ran,
        "ghl.follower.add",
        json!({"contactId": id, "followers": [user]}),
    )
    .await;
    run(
        &sim,
        &mut ran,
        "ghl.follower.remove",
        json!({"contactId": id, "followers": [user]}),
    )
    .await;

    run(
        &sim,
        &mut ran,
        "ghl.campaign.add_contact",
        json!({"contactId": id, "campaignId": campaign}),
    )
    .await;
    run(
        &sim,
        &mut ran,
        "ghl.campaign.remove_contact",
        json!({"contactId": id, "campaignId": campaign}),
    )
    .await;
    run(
        &sim,
        &mut ran,
        "ghl.campaign.remove_contact_from_all",
        json!({"contactId": id}),
    )
    .await;

    run(&sim, &mut ran, "ghl.workflow.add_contact", json!({"contactId": id, "workflowId": workflow, "eventStartTime": "2030-06-23T03:30:00+01:00"})).await;
    run(
        &sim,
        &mut ran,
        "ghl.workflow.remove_contact",
        json!({"contactId": id, "workflowId": workflow}),
    )
    .await;

    let calendars = run(&sim, &mut ran, "ghl.calendar.list", Value::Null).await;
    assert_eq!(
        calendars["calendars"].as_array().unwrap().len(),
        seeded.calendars.len()
    );
    run(
        &sim,
        &mut ran,
        "ghl.calendar.get",
        json!({"calendarId": calendar}),
    )
    .await;
    let appointment = run(
        &sim,
        &mut ran,
        "ghl.appointment.create",
        json!({
            "calendarId": calendar,
            "contactId": id,
            "startTime": "2030-03-04T10:00:00+00:00",
            "endTime": "2030-03-04T10:30:00+00:00",
            "ignoreFreeSlotValidation": true,
            "ignoreDateRange": true
        }),
    )
    .await;
    let event_id = appointment["id"].clone();
    run(
        &sim,
        &mut ran,
        "ghl.appointment.get",
        json!({"eventId": event_id}),
    )
    .await;
    run(
        &sim,
        &mut ran,
        "ghl.appointment.update",
        json!({"eventId": event_id, "title": "Moved", "ignoreFreeSlotValidation": true}),
    )
    .await;
    let events = run(
        &sim,
        &mut ran,
        "ghl.calendar.list_events",
        json!({
            "calendarId": calendar,
            "startTime": "2030-03-04T00:00:00Z",
            "endTime": "2030-03-05T00:00:00Z"
        }),
    )
    .await;
    assert_eq!(events["events"][0]["id"], event_id);
    run(
        &sim,
        &mut ran,
        "ghl.appointment.delete",
        json!({"eventId": event_id}),
    )
    .await;

    // Polling triggers, from no cursor.
    for trigger in ["ghl.contact.new", "ghl.contact.updated"] {
        let polled = run(&sim, &mut ran, trigger, json!({"cursor": null, "limit": 5})).await;
        assert_eq!(polled["records"][0]["id"], id);
    }
    for trigger in [
        "ghl.contact.task.new",
        "ghl.contact.note.new",
        "ghl.contact.appointment.new",
    ] {
        run(&sim, &mut ran, trigger, json!({"contactId": id})).await;
    }
    let joined = run(
        &sim,
        &mut ran,
        "ghl.business.contact.new",
        json!({"businessId": business, "limit": 5}),
    )
    .await;
    assert_eq!(joined["records"][0]["id"], id);

    let deleted = run(
        &sim,
        &mut ran,
        "ghl.contact.delete",
        json!({"contactId": id}),
    )
    .await;
    assert_eq!(deleted, json!({"succeeded": true}));

    let all: BTreeSet<String> = operations()
        .into_iter()
        .map(|operation| operation.id)
        .collect();
    let missed: Vec<&String> = all.difference(&ran).collect();
    assert!(missed.is_empty(), "not run: {missed:?}");
    assert_eq!(ran.len(), 45);
}

#[tokio::test]
async fn bad_inputs_and_unknown_ids_are_refused_before_sending() {
    let sim = TestSim::start().await;
    let mark = sim.log_mark();
    let check = |id: &'static str, input: Value, path: &'static str| {
        let client = sim.client.clone();
        async move {
            let error = invoke(&client, id, input.clone()).await.unwrap_err();
            let Error::InvalidInput { path: found, .. } = &error else {
                panic!("{id} {input}: {error:?}");
            };
            assert_eq!(found, path, "{id} {input}");
        }
    };
    check("ghl.contact.get", json!({}), "contactId").await;
    check("ghl.contact.get", json!({"contactId": 12}), "contactId").await;
    check(
        "ghl.contact.create",
        json!({"emial": "x@example.com"}),
        "emial",
    )
    .await;
    check("ghl.contact.create", json!({"tags": "vip"}), "tags").await;
    check(
        "ghl.contact.update",
        json!({"contactId": "c", "dnd": "yes"}),
        "dnd",
    )
    .await;
    check(
        "ghl.task.create",
        json!({"contactId": "c", "title": "T", "dueDate": "tomorrow"}),
        "dueDate",
    )
    .await;
    check(
        "ghl.appointment.create",
        json!({"calendarId": "k", "contactId": "c", "startTime": "2030-01-01T00:00:00"}),
        "startTime",
    )
    .await;
    check(
        "ghl.contact.search",
        json!({"sort": [{"field": "dateAdded", "direction": "up"}]}),
        "sort[0].direction",
    )
    .await;
    check(
        "ghl.business.set_contacts",
        json!({"contacts": ["c"]}),
        "businessId",
    )
    .await;
    check("ghl.contact.get", json!([]), ".").await;
    let error = invoke(&sim.client, "ghl.contact.explode", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnknownOperation { .. }), "{error:?}");
    assert!(sim.log_since(mark).is_empty(), "nothing may be sent");
}
