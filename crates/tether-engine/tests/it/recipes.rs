//! The seed recipes end to end, driven by the exact webhook bodies the GHL simulator emits: a
//! task, a note and an appointment added in GHL land in Details Flowers linked to the right
//! customer, once, even when GHL sends every event twice.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_engine::invoke::Operations;
use tether_engine::worker::intake;

use crate::executor::{Simulated, simulated};

/// Runs every due run, jumping the clock past backoffs instead of sleeping through them.
async fn drain(sim: &Simulated) {
    let mut offset_ms = 0;
    for _ in 0..20 {
        let now_offset = offset_ms;
        sim.worker
            .run_until_idle(move || tether_store::now_ms() + now_offset)
            .await
            .unwrap();
        if sim.store.run_counts().await.unwrap().pending() == 0 {
            return;
        }
        offset_ms += 3_600_000;
    }
    panic!("runs still pending after 20 passes");
}

/// Details Flowers records of `resource` whose `field` is `value`.
async fn df_records(sim: &Simulated, resource: &str, field: &str, value: &str) -> Vec<Value> {
    let all = sim
        .registry
        .invoke(
            "details-flowers-main",
            &format!("details_flowers.{resource}.list"),
            json!({}),
        )
        .await
        .unwrap();
    all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record[field] == value)
        .cloned()
        .collect()
}

#[tokio::test]
async fn tasks_notes_and_appointments_reach_the_right_customer_once() {
    let sim = simulated("pit-recipes", 0).await;
    let ops: Arc<dyn Operations> = Arc::new(sim.registry.clone());
    let contact = ops
        .invoke(
            "ghl-main",
            "ghl.contact.create",
            json!({"firstName": "Ivy", "lastName": "Bloom", "email": "ivy.bloom@example.com"}),
        )
        .await
        .unwrap();
    let contact_id = contact["id"].as_str().unwrap().to_owned();
    let task = ops
        .invoke(
            "ghl-main",
            "ghl.task.create",
            json!({"contactId": contact_id, "title": "Deliver the peonies", "dueDate": "2026-12-01T10:00:00Z", "completed": false}),
        )
        .await
        .unwrap();
    let note = ops
        .invoke(
            "ghl-main",
            "ghl.note.create",
            json!({"contactId": contact_id, "body": "Prefers white wrapping."}),
        )
        .await
        .unwrap();
    let calendars = ops
        .invoke("ghl-main", "ghl.calendar.list", json!({}))
        .await
        .unwrap();
    let calendar_id = calendars[0]["id"]
        .as_str()
        .or_else(|| calendars["calendars"][0]["id"].as_str())
        .unwrap()
        .to_owned();
    let appointment = ops
        .invoke(
            "ghl-main",
            "ghl.appointment.create",
            json!({"calendarId": calendar_id, "contactId": contact_id, "startTime": "2026-12-02T15:00:00+00:00", "address": "12 Rose Lane"}),
        )
        .await
        .unwrap();

    // What GHL sent, body for body; delivered twice, the second time under new webhook ids as a
    // real redelivery after a lost answer would not be, to prove links (not just event dedup)
    // keep the writes single.
    let events = sim.ghl.sim.world().webhooks.events();
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|event| event["type"].as_str())
        .collect();
    for kind in [
        "ContactCreate",
        "TaskCreate",
        "NoteCreate",
        "AppointmentCreate",
    ] {
        assert!(kinds.contains(&kind), "the simulator emitted {kinds:?}");
    }
    for round in 0..2 {
        for event in &events {
            let kind = event["type"].as_str().unwrap();
            let key = format!("{}#{round}", event["webhookId"].as_str().unwrap());
            intake(&sim.store, &sim.flows, "ghl.webhook", &key, kind, event)
                .await
                .unwrap();
        }
        drain(&sim).await;
    }
    let counts = sim.store.run_counts().await.unwrap();
    assert_eq!(
        counts.dead,
        0,
        "{:?}",
        sim.store
            .dlq_list(10)
            .await
            .unwrap()
            .iter()
            .map(|d| d.reason.clone())
            .collect::<Vec<_>>()
    );

    let customers = df_records(&sim, "customer", "ghl_contact_id", &contact_id).await;
    assert_eq!(customers.len(), 1, "{customers:?}");
    let customer_id = customers[0]["id"].as_str().unwrap();
    let tasks = df_records(&sim, "task", "ghl_task_id", task["id"].as_str().unwrap()).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["customer_id"], customer_id);
    assert_eq!(tasks[0]["title"], "Deliver the peonies");
    let notes = df_records(&sim, "note", "ghl_note_id", note["id"].as_str().unwrap()).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["customer_id"], customer_id);
    assert_eq!(notes[0]["body"], "Prefers white wrapping.");
    let appointment_id = appointment["id"]
        .as_str()
        .or_else(|| appointment["appointment"]["id"].as_str())
        .unwrap();
    let deliveries = df_records(&sim, "delivery", "ghl_appointment_id", appointment_id).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["customer_id"], customer_id);
    assert_eq!(deliveries[0]["address"], "12 Rose Lane");
}
