//! Seeding: deterministic for a seed, the configured counts, realistic and consistent data, no
//! webhooks, and seeded records served by the API in the spec's shapes.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{Duration as ChronoDuration, Utc};
use reqwest::Method;
use tether_sim::ghl::{GhlSim, GhlSimConfig, World};

use crate::support::{CALENDARS_VERSION, PIT, Sim, assert_conforms, config};

const N_CONTACTS: usize = 2_000;

fn seeded(seed: u64, n_contacts: usize) -> GhlSim {
    GhlSim::new(GhlSimConfig {
        seed_contacts: n_contacts,
        rng_seed: Some(seed),
        ..config()
    })
}

/// Everything seeded in the main location, as text, in an order that does not depend on hashing.
fn snapshot(world: &World) -> Vec<String> {
    let location = world.location(&world.config.location_id).unwrap();
    let location = location.read();
    let mut lines = vec![
        format!("{:?}", location.users),
        format!("{:?}", location.calendars),
        format!("{:?}", location.campaigns),
        format!("{:?}", location.workflows),
        format!("{:?}", location.custom_fields),
    ];
    let mut businesses: Vec<String> = location
        .businesses
        .values()
        .map(|business| format!("{business:?}"))
        .collect();
    let mut contacts: Vec<String> = location
        .contacts
        .values()
        .map(|contact| format!("{contact:?}"))
        .collect();
    let mut appointments: Vec<String> = location
        .appointments
        .values()
        .map(|a| format!("{a:?}"))
        .collect();
    businesses.sort();
    contacts.sort();
    appointments.sort();
    lines.extend(businesses);
    lines.extend(contacts);
    lines.extend(appointments);
    lines
}

#[test]
fn same_seed_same_world_other_seed_other_world() {
    // Dates are relative to the start of the UTC day; a run across midnight tries again.
    let (first, second) = loop {
        let day = Utc::now().date_naive();
        let pair = (
            snapshot(seeded(11, N_CONTACTS).world()),
            snapshot(seeded(11, N_CONTACTS).world()),
        );
        if Utc::now().date_naive() == day {
            break pair;
        }
    };
    assert_eq!(first.len(), second.len());
    assert!(first == second, "the same seed gave different worlds");

    let other = seeded(12, N_CONTACTS);
    let other_ids: HashSet<String> = other
        .world()
        .location(&other.world().config.location_id)
        .unwrap()
        .read()
        .contacts
        .keys()
        .cloned()
        .collect();
    let again = seeded(11, N_CONTACTS);
    let ids: HashSet<String> = again
        .world()
        .location(&again.world().config.location_id)
        .unwrap()
        .read()
        .contacts
        .keys()
        .cloned()
        .collect();
    assert_eq!(other_ids.len(), N_CONTACTS);
    assert!(
        ids.is_disjoint(&other_ids),
        "another seed reused contact ids"
    );
}

#[test]
fn seeds_the_configured_counts_with_consistent_data() {
    let sim = seeded(3, N_CONTACTS);
    let world = sim.world();
    let location = world.location(&world.config.location_id).unwrap();
    let location = location.read();

    assert_eq!(location.contacts.len(), N_CONTACTS);
    assert_eq!(location.users.len(), 5);
    assert_eq!(location.calendars.len(), 2);
    assert!(
        location
            .calendars
            .iter()
            .all(|calendar| calendar.slot_duration > 0 && !calendar.team_members.is_empty())
    );
    assert_eq!(location.businesses.len(), 20);
    assert_eq!(location.campaigns.len(), 3);
    assert_eq!(location.workflows.len(), 4);
    assert_eq!(location.custom_fields.len(), 4);
    let n_tasks: usize = location
        .contacts
        .values()
        .map(|contact| contact.tasks.len())
        .sum();
    let n_notes: usize = location
        .contacts
        .values()
        .map(|contact| contact.notes.len())
        .sum();
    assert_eq!(n_tasks, N_CONTACTS.div_ceil(3));
    assert_eq!(n_notes, N_CONTACTS.div_ceil(4));
    assert_eq!(location.appointments.len(), N_CONTACTS.div_ceil(10));
    assert_eq!(location.by_date_added.len(), N_CONTACTS);

    let now = Utc::now();
    let mut emails = HashSet::new();
    let mut phones = HashSet::new();
    let mut n_with_business = 0;
    for contact in location.contacts.values() {
        assert_eq!(contact.location_id, location.id);
        if let Some(email) = &contact.email {
            assert!(emails.insert(email.clone()), "duplicate e-mail {email}");
            let first = contact.first_name.as_deref().unwrap().to_lowercase();
            assert!(
                email.starts_with(&format!("{first}.")) && email.ends_with("@example.com"),
                "{email}"
            );
        }
        if let Some(phone) = &contact.phone {
            assert!(phones.insert(phone.clone()), "duplicate phone {phone}");
            assert!(
                phone.len() == 12
                    && phone.starts_with("+1")
                    && phone[1..].bytes().all(|b| b.is_ascii_digit()),
                "{phone}"
            );
        }
        assert!(contact.date_added <= now && contact.date_added > now - ChronoDuration::days(732));
        assert!(contact.date_updated >= contact.date_added && contact.date_updated <= now);
        assert!(
            contact
                .country
                .as_deref()
                .is_some_and(|country| country.len() == 2)
        );
        assert!(contact.tags.iter().all(|tag| *tag == tag.to_lowercase()));
        assert!(
            contact
                .custom_fields
                .iter()
                .all(|field| field.value.is_string())
        );
        if let Some(business_id) = &contact.business_id {
            n_with_business += 1;
            assert_eq!(
                contact.company_name.as_ref(),
                Some(&location.businesses[business_id].name)
            );
        }
        assert!(
            contact
                .assigned_to
                .iter()
                .all(|user| location.users.contains(user))
        );
        for task in &contact.tasks {
            assert_eq!(task.contact_id, contact.id);
            assert!(
                task.assigned_to
                    .iter()
                    .all(|user| location.users.contains(user))
            );
        }
        assert!(
            contact
                .notes
                .iter()
                .all(|note| note.contact_id == contact.id)
        );
    }
    assert!(emails.len() > N_CONTACTS * 9 / 10 && phones.len() > N_CONTACTS * 8 / 10);
    assert!(
        n_with_business > 0 && n_with_business < N_CONTACTS / 4,
        "{n_with_business}"
    );
    let distinct_dates: HashSet<i64> = location.by_date_added.iter().map(|(ms, _)| *ms).collect();
    assert!(
        distinct_dates.len() < N_CONTACTS * 8 / 10,
        "ties in dateAdded are wanted: {}",
        distinct_dates.len()
    );
    for appointment in location.appointments.values() {
        let contact = &location.contacts[&appointment.contact_id];
        assert!(
            location
                .calendars
                .iter()
                .any(|calendar| calendar.id == appointment.calendar_id)
        );
        assert!(
            appointment.start_time >= contact.date_added
                && appointment.end_time > appointment.start_time
        );
    }
    assert!(
        world.webhooks.events().is_empty(),
        "seeding sends no webhooks"
    );
}

#[tokio::test]
async fn seeded_records_are_served_in_the_spec_shapes() {
    let sim = Sim::start(GhlSimConfig {
        seed_contacts: 300,
        ..config()
    })
    .await;
    let location_id = sim.location_id();
    let (with_task, with_note, with_appointment) = {
        let location = sim.world().location(&location_id).unwrap();
        let location = location.read();
        let with_task = location
            .contacts
            .values()
            .find(|c| !c.tasks.is_empty())
            .unwrap()
            .id
            .clone();
        let with_note = location
            .contacts
            .values()
            .find(|c| !c.notes.is_empty())
            .unwrap()
            .id
            .clone();
        let with_appointment = location
            .appointments
            .values()
            .next()
            .unwrap()
            .contact_id
            .clone();
        (with_task, with_note, with_appointment)
    };
    let tasks = sim
        .call_ok(
            "get-all-tasks",
            Method::GET,
            &format!("/contacts/{with_task}/tasks"),
            None,
            200,
        )
        .await;
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 1);
    let notes = sim
        .call_ok(
            "get-all-notes",
            Method::GET,
            &format!("/contacts/{with_note}/notes"),
            None,
            200,
        )
        .await;
    assert_eq!(notes["notes"].as_array().unwrap().len(), 1);
    let path = format!("/contacts/{with_appointment}/appointments");
    let events = sim
        .call_ok(
            "get-appointments-for-contact",
            Method::GET,
            &path,
            None,
            200,
        )
        .await;
    assert!(!events["events"].as_array().unwrap().is_empty());

    // Every seeded appointment lies within the window below, and each calendar's are listed.
    let now = Utc::now();
    let start = (now - ChronoDuration::days(800)).timestamp_millis();
    let end = (now + ChronoDuration::days(70)).timestamp_millis();
    let calendar_ids: Vec<String> = sim
        .world()
        .location(&location_id)
        .unwrap()
        .read()
        .calendars
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let mut n_events = 0;
    for calendar_id in calendar_ids {
        let path = format!(
            "/calendars/events?locationId={location_id}&calendarId={calendar_id}&startTime={start}&endTime={end}"
        );
        let request = sim
            .http
            .get(format!("{}{path}", sim.base_url))
            .bearer_auth(PIT)
            .header("Version", CALENDARS_VERSION);
        let (status, body) = sim.send(request).await;
        assert_eq!(status.as_u16(), 200, "{body}");
        assert_conforms("get-calendar-events", 200, &body);
        n_events += body["events"].as_array().unwrap().len();
    }
    assert_eq!(n_events, 30);
}

/// CPU time (user + system) used so far by this thread (`thread-self`) or by the whole process
/// (`self`), from `/proc`, so a measurement means something on a busy machine too.
fn cpu_seconds(which: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{which}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th there.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, which is 100 on Linux.
    Some(ticks as f64 / 100.0)
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Measures seeding time and memory; a release-build measurement, so it is not run by default:
/// `SEED_CONTACTS=1000000 cargo test --release -p tether-sim --test it seed::seeding_speed -- --ignored --nocapture`.
#[test]
#[ignore = "release-build measurement; run explicitly with --ignored"]
fn seeding_speed_and_memory() {
    let n_contacts: usize = std::env::var("SEED_CONTACTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let rss_before = proc_status_kib("VmRSS:").unwrap_or(0);
    let cpu = || {
        (
            cpu_seconds("thread-self").unwrap_or(0.0),
            cpu_seconds("self").unwrap_or(0.0),
        )
    };
    let (thread_before, process_before) = cpu();
    let started = Instant::now();
    let sim = seeded(1, n_contacts);
    let elapsed = started.elapsed();
    let (thread_after, process_after) = cpu();
    let (thread_cpu, process_cpu) = (thread_after - thread_before, process_after - process_before);
    let rss_after = proc_status_kib("VmRSS:").unwrap_or(0);
    let peak = proc_status_kib("VmHWM:").unwrap_or(0);
    let n_seeded = sim
        .world()
        .location(&sim.world().config.location_id)
        .unwrap()
        .read()
        .contacts
        .len();
    println!(
        "seeded {n_seeded} contacts in {:.2} s (CPU: {thread_cpu:.2} s inserting thread, {process_cpu:.2} s all threads); RSS {} MiB → {} MiB (peak {} MiB)",
        elapsed.as_secs_f64(),
        rss_before / 1024,
        rss_after / 1024,
        peak / 1024
    );
    assert_eq!(n_seeded, n_contacts);
    if !cfg!(debug_assertions) {
        assert!(elapsed.as_secs_f64() < 10.0, "seeding took {elapsed:?}");
    }
}
