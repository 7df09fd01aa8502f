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
    for contact in ghl_contacts(ops.as_ref()).await.values() {
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

/// Every GHL contact of the location, by id, as the API answers it.
async fn ghl_contacts(ops: &dyn Operations) -> BTreeMap<String, Value> {
    let mut contacts = BTreeMap::new();
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
            contacts.insert(contact["id"].as_str().unwrap().to_owned(), contact.clone());
        }
        if records.len() < 100 {
            return contacts;
        }
        cursor = page["cursor"].clone();
    }
}

/// Every Details Flowers record, by resource and id.
fn df_records(sim: &Simulated) -> BTreeMap<(String, String), Value> {
    let world = sim.flowers.sim.world();
    let records = world.records.lock();
    let mut all = BTreeMap::new();
    for (index, resource) in world.manifest.resources.iter().enumerate() {
        for record in records.list(index, &ListFilter::default()) {
            let id = record["id"].as_str().unwrap().to_owned();
            all.insert((resource.name.clone(), id), Value::Object(record.clone()));
        }
    }
    all
}

/// The keys whose values differ between two snapshots.
fn changed_keys<K: Ord + Clone>(before: &BTreeMap<K, Value>, after: &BTreeMap<K, Value>) -> Vec<K> {
    let mut keys: Vec<K> = before
        .iter()
        .filter(|(key, value)| after.get(*key) != Some(*value))
        .map(|(key, _)| key.clone())
        .collect();
    keys.extend(
        after
            .keys()
            .filter(|key| !before.contains_key(*key))
            .cloned(),
    );
    keys
}

/// The demo's flows over a seeded location, cycle after cycle (the Details Flowers poll, GHL's
/// reconciliation pass, every run they start): after the initial sync no record changes in either
/// app, and a cycle starts one run per real change, not one per record Tether wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_flows_change_nothing_they_did_not_have_to_cycle_after_cycle() {
    use tether_engine::poller::poll_once;

    let sim = simulated("pit-cycles", 60).await;
    let ops: Arc<dyn Operations> = Arc::new(sim.registry.clone());
    let mut clock = tether_store::now_ms();
    let mut runs_so_far = 0;
    // One cycle: the poll and the reconciliation pass, then every run they started; answers how
    // many runs that was.
    let mut cycle = async |clock: &mut i64| -> usize {
        *clock += 120_000;
        poll_once(
            &sim.store,
            ops.as_ref(),
            &sim.flows,
            "df-customer-to-ghl-contact",
            *clock,
        )
        .await
        .unwrap();
        sync_once(
            &sim.store,
            ops.as_ref(),
            &sim.flows,
            "ghl-main",
            "test",
            25,
            |_| {},
        )
        .await
        .unwrap();
        drain(&sim).await;
        let total = sim.store.run_counts().await.unwrap().total();
        let ran = usize::try_from(total).unwrap() - runs_so_far;
        runs_so_far += ran;
        ran
    };

    let initial = cycle(&mut clock).await;
    assert!(initial > 60, "the initial sync ran: {initial}");
    assert!(sim.store.dlq_list(10).await.unwrap().is_empty());
    let contacts = ghl_contacts(ops.as_ref()).await;
    let records = df_records(&sim);
    assert_eq!(contacts.len(), 60);

    for round in 0..3 {
        let ran = cycle(&mut clock).await;
        assert_eq!(
            ran, 0,
            "cycle {round} after the initial sync: no real change, no run"
        );
    }
    assert_eq!(
        changed_keys(&contacts, &ghl_contacts(ops.as_ref()).await),
        Vec::<String>::new()
    );
    assert_eq!(
        changed_keys(&records, &df_records(&sim)),
        Vec::<(String, String)>::new()
    );

    // Two real changes, one in each app, whose webhooks never arrive: a person's new phone on a
    // customer, another's new first name on a contact.
    let (customer_key, customer) = records
        .iter()
        .find(|((resource, _), record)| resource == "customer" && record["phone"].is_string())
        .map(|(key, record)| (key.clone(), record.clone()))
        .unwrap();
    let phone_contact = customer["ghl_contact_id"].as_str().unwrap().to_owned();
    ops.invoke(
        "details-flowers-main",
        "details_flowers.customer.update",
        json!({"id": customer_key.1, "phone": "+15550177"}),
    )
    .await
    .unwrap();
    let (renamed, _) = contacts
        .iter()
        .find(|(id, contact)| **id != phone_contact && contact["email"].is_string())
        .map(|(id, contact)| (id.clone(), contact.clone()))
        .unwrap();
    ops.invoke(
        "ghl-main",
        "ghl.contact.update",
        json!({"contactId": renamed, "firstName": "Renamed"}),
    )
    .await
    .unwrap();
    let ran = cycle(&mut clock).await;
    assert_eq!(ran, 2, "one run per real change");
    for round in 0..2 {
        let ran = cycle(&mut clock).await;
        assert_eq!(
            ran, 0,
            "cycle {round} after the changes: their echoes start nothing"
        );
    }

    // Exactly the two records and their counterparts changed, each in the changed field only.
    let contacts_after = ghl_contacts(ops.as_ref()).await;
    let mut changed = changed_keys(&contacts, &contacts_after);
    changed.sort();
    let mut expected = vec![phone_contact.clone(), renamed.clone()];
    expected.sort();
    assert_eq!(changed, expected);
    assert_eq!(contacts_after[&phone_contact]["phone"], "+15550177");
    for field in ["firstName", "lastName", "email", "source", "tags"] {
        assert_eq!(
            contacts_after[&phone_contact][field], contacts[&phone_contact][field],
            "{field}"
        );
    }
    let records_after = df_records(&sim);
    let changed = changed_keys(&records, &records_after);
    let renamed_customer = records
        .iter()
        .find(|(_, record)| record["ghl_contact_id"] == renamed.as_str())
        .map(|(key, _)| key.clone())
        .unwrap();
    let mut expected = vec![customer_key.clone(), renamed_customer.clone()];
    expected.sort();
    let mut changed_sorted = changed.clone();
    changed_sorted.sort();
    assert_eq!(changed_sorted, expected);
    assert!(
        records_after[&renamed_customer]["full_name"]
            .as_str()
            .unwrap()
            .starts_with("Renamed "),
        "{:?}",
        records_after[&renamed_customer]
    );
    assert_eq!(
        records_after[&renamed_customer]["phone"],
        records[&renamed_customer]["phone"]
    );
    assert!(sim.store.dlq_list(10).await.unwrap().is_empty());
}
