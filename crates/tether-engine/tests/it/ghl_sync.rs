//! GHL's change feed end to end against both simulators: the first pass is the initial sync of a
//! seeded location (contacts, tasks, notes, appointments, each once in Details Flowers), a second
//! pass finds nothing new, and a change whose webhook never arrived is picked up by the next pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tether_engine::ghl_sync::{SOURCE, sync_once};
use tether_engine::invoke::Operations;
use tether_sim::details_flowers::state::ListFilter;

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

/// How many Details Flowers records of `resource` carry each value of `field`.
fn df_counts(sim: &Simulated, resource: &str, field: &str) -> BTreeMap<String, usize> {
    let world = sim.flowers.sim.world();
    let index = world
        .manifest
        .resources
        .iter()
        .position(|candidate| candidate.name == resource)
        .unwrap();
    let records = world.records.lock();
    let mut counts = BTreeMap::new();
    for record in records.list(index, &ListFilter::default()) {
        let key = record
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        *counts.entry(key).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_pass_syncs_everything_once_and_later_passes_catch_lost_webhooks() {
    let sim = simulated("pit-sync", 90).await;
    let ops: Arc<dyn Operations> = Arc::new(sim.registry.clone());
    let sync = || {
        sync_once(
            &sim.store,
            ops.as_ref(),
            &sim.flows,
            "ghl-main",
            "test",
            25,
            |_| {},
        )
    };

    let first = sync().await.unwrap();
    assert_eq!(first.contacts, 90, "{first:?}");
    assert!(first.pages >= 4, "{first:?}");
    drain(&sim).await;
    assert!(sim.store.dlq_list(100).await.unwrap().is_empty());

    // What GHL holds, read through the API: every contact with an e-mail is one customer, and
    // every task, note and appointment of such a contact is one record, linked by its GHL id.
    let mut expected_customers = 0;
    let mut expected = BTreeMap::from([("task", 0), ("note", 0), ("delivery", 0)]);
    let mut cursor = Value::Null;
    loop {
        let page = ops
            .invoke(
                "ghl-main",
                "ghl.contact.updated",
                json!({"cursor": cursor, "limit": 100}),
            )
            .await
            .unwrap();
        let records = page["records"].as_array().unwrap().clone();
        for contact in &records {
            if contact["email"].as_str().is_none_or(str::is_empty) {
                continue;
            }
            expected_customers += 1;
            let id = contact["id"].clone();
            for (list, field, resource) in [
                ("ghl.task.list", "tasks", "task"),
                ("ghl.note.list", "notes", "note"),
                ("ghl.contact.list_appointments", "events", "delivery"),
            ] {
                let items = ops
                    .invoke("ghl-main", list, json!({"contactId": id}))
                    .await
                    .unwrap();
                *expected.get_mut(resource).unwrap() += items[field].as_array().unwrap().len();
            }
        }
        if records.len() < 100 {
            break;
        }
        cursor = page["cursor"].clone();
    }
    assert!(
        expected.values().all(|n| *n > 0),
        "the seed has all kinds: {expected:?}"
    );
    let customers = df_counts(&sim, "customer", "ghl_contact_id");
    assert_eq!(customers.len(), expected_customers);
    assert!(customers.values().all(|n| *n == 1), "{customers:?}");
    for (resource, field) in [
        ("task", "ghl_task_id"),
        ("note", "ghl_note_id"),
        ("delivery", "ghl_appointment_id"),
    ] {
        let counts = df_counts(&sim, resource, field);
        assert_eq!(counts.len(), expected[resource], "{resource}");
        assert!(counts.values().all(|n| *n == 1), "{resource}: {counts:?}");
    }

    // Nothing changed: a second pass stores nothing new.
    let second = sync().await.unwrap();
    assert_eq!(second.new_events, 0, "{second:?}");

    // A change made in GHL whose webhook never reached Tether: the next pass picks it up, once.
    let email = sim
        .store
        .runs_recent(1000)
        .await
        .unwrap()
        .iter()
        .find(|summary| summary.run.flow_id == "ghl-contact-to-df-customer")
        .map(|summary| summary.run.event_id)
        .unwrap();
    let event = sim.store.event(email).await.unwrap();
    let contact_id = event.payload["id"].as_str().unwrap().to_owned();
    ops.invoke(
        "ghl-main",
        "ghl.contact.update",
        json!({"contactId": contact_id, "firstName": "Reconciled"}),
    )
    .await
    .unwrap();
    let third = sync().await.unwrap();
    assert_eq!(third.new_events, 1, "{third:?}");
    drain(&sim).await;
    let customer = {
        let world = sim.flowers.sim.world();
        let records = world.records.lock();
        records
            .list(0, &ListFilter::default())
            .into_iter()
            .find(|record| {
                record.get("ghl_contact_id").and_then(Value::as_str) == Some(&contact_id)
            })
            .cloned()
            .unwrap()
    };
    assert!(
        customer["full_name"]
            .as_str()
            .unwrap()
            .starts_with("Reconciled"),
        "{customer:?}"
    );
    let last = sim
        .store
        .event(sim.store.runs_recent(1).await.unwrap()[0].run.event_id)
        .await
        .unwrap();
    assert_eq!(last.source, SOURCE);
}
