//! Calendars and appointments over HTTP (Calendars v2, `Version: 2021-04-15`) and the contacts
//! spec's list of a contact's appointments: success answers checked against the official
//! schemas, error answers, and the appointment webhooks.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{CALENDARS_VERSION, PIT, Sim, assert_conforms};
use crate::tasks_notes::{add_contact, assert_error, events_of, users};

/// Calls a Calendars operation: the PIT and the Calendars `Version`.
async fn call(sim: &Sim, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = sim
        .http
        .request(method, format!("{}{}", sim.base_url, path))
        .bearer_auth(PIT)
        .header("Version", CALENDARS_VERSION);
    if let Some(body) = body {
        request = request.json(&body);
    }
    sim.send(request).await
}

/// Like [`call`], then asserts the status and the body against the spec's schema for `op_id`.
async fn call_ok(
    sim: &Sim,
    op_id: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let (status, answer) = call(sim, method, path, body).await;
    assert_eq!(status.as_u16(), expected, "{op_id}: {answer}");
    assert_conforms(op_id, expected, &answer);
    answer
}

/// The seeded calendars: `(id, slot minutes)`.
fn calendars(sim: &Sim) -> Vec<(String, u32)> {
    let location = sim.world().location(&sim.location_id()).unwrap();
    let location = location.read();
    location
        .calendars
        .iter()
        .map(|calendar| (calendar.id.clone(), calendar.slot_duration))
        .collect()
}

fn other_location(sim: &Sim) -> String {
    let main = sim.location_id();
    sim.world()
        .locations
        .read()
        .keys()
        .find(|id| **id != main)
        .expect("the test config has an extra location")
        .clone()
}

fn ms(iso: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso)
        .unwrap()
        .timestamp_millis()
}

#[tokio::test]
async fn calendars_are_listed_and_fetched() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let listed = call_ok(
        &sim,
        "get-calendars",
        Method::GET,
        &format!("/calendars/?locationId={location_id}"),
        None,
        200,
    )
    .await;
    let listed = listed["calendars"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["locationId"], location_id.as_str());
    assert_eq!(listed[0]["slotDuration"], 30);
    assert_eq!(listed[1]["slotDuration"], 60);
    // Without the trailing slash too, and filtered by group.
    let group_id = listed[0]["groupId"].as_str().unwrap();
    let path = format!("/calendars?locationId={location_id}&groupId={group_id}");
    let grouped = call_ok(&sim, "get-calendars", Method::GET, &path, None, 200).await;
    assert_eq!(grouped["calendars"].as_array().unwrap().len(), 2);
    let path = format!("/calendars/?locationId={location_id}&groupId=nosuchgroup");
    let none = call_ok(&sim, "get-calendars", Method::GET, &path, None, 200).await;
    assert_eq!(none, json!({"calendars": []}));

    let calendar_id = listed[1]["id"].as_str().unwrap();
    let one = call_ok(
        &sim,
        "get-calendar",
        Method::GET,
        &format!("/calendars/{calendar_id}"),
        None,
        200,
    )
    .await;
    assert_eq!(one["calendar"], listed[1]);

    let (status, body) = call(&sim, Method::GET, "/calendars/nosuchcalendar", None).await;
    assert_error(status, &body, 404, "nosuchcalendar");
    let (status, body) = call(&sim, Method::GET, "/calendars/", None).await;
    assert_error(status, &body, 422, "locationId");
    let path = format!("/calendars/?locationId={}", other_location(&sim));
    let (status, body) = call(&sim, Method::GET, &path, None).await;
    assert_error(status, &body, 403, "location");
    // The Contacts `Version` is refused on a Calendars operation.
    let (status, body) = sim
        .call(
            Method::GET,
            &format!("/calendars/?locationId={location_id}"),
            None,
        )
        .await;
    assert_error(status, &body, 400, "Version");
}

#[tokio::test]
async fn appointment_lifecycle_conforms_and_sends_webhooks() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let contact_id = add_contact(&sim, "Abby");
    let (calendar_id, slot_minutes) = calendars(&sim)[0].clone();
    let user = users(&sim)[1].clone();

    // Defaults: end = start + slot, status confirmed, title from the contact's name.
    let body = json!({"calendarId": calendar_id, "locationId": location_id, "contactId": contact_id, "startTime": "2026-12-01T10:00:00+01:00"});
    let created = call_ok(
        &sim,
        "create-appointment",
        Method::POST,
        "/calendars/events/appointments",
        Some(body),
        200,
    )
    .await;
    let event_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        ms(created["startTime"].as_str().unwrap()),
        ms("2026-12-01T09:00:00Z")
    );
    assert_eq!(
        ms(created["endTime"].as_str().unwrap()) - ms(created["startTime"].as_str().unwrap()),
        i64::from(slot_minutes) * 60_000
    );
    assert_eq!(created["appointmentStatus"], "confirmed");
    assert_eq!(created["title"], "Abby Tester");
    assert_eq!(created["contactId"], contact_id.as_str());
    assert_eq!(created["isRecurring"], false);

    let event_path = format!("/calendars/events/appointments/{event_id}");
    let fetched = call_ok(&sim, "get-appointment", Method::GET, &event_path, None, 200).await;
    let event = &fetched["event"];
    assert_eq!(event["id"], event_id.as_str());
    assert_eq!(event["calendarId"], calendar_id.as_str());
    assert_eq!(event["startTime"], created["startTime"]);
    assert!(!event["groupId"].as_str().unwrap().is_empty());

    // Every field at once; an explicit end wins over keeping the length.
    let edit = json!({"title": "Bouquet consult", "startTime": "2026-12-02T15:00:00Z", "endTime": "2026-12-02T16:30:00Z",
        "appointmentStatus": "showed", "assignedUserId": user, "address": "12 Rose Blvd", "description": "Bring samples"});
    let edited = call_ok(
        &sim,
        "edit-appointment",
        Method::PUT,
        &event_path,
        Some(edit),
        200,
    )
    .await;
    assert_eq!(edited["title"], "Bouquet consult");
    assert_eq!(edited["appointmentStatus"], "showed");
    assert_eq!(edited["assignedUserId"], user.as_str());
    assert_eq!(
        ms(edited["endTime"].as_str().unwrap()),
        ms("2026-12-02T16:30:00Z")
    );
    // A new start alone keeps the length (90 minutes).
    let moved = json!({"startTime": "2026-12-03T08:00:00Z"});
    let moved = call_ok(
        &sim,
        "edit-appointment",
        Method::PUT,
        &event_path,
        Some(moved),
        200,
    )
    .await;
    assert_eq!(
        ms(moved["endTime"].as_str().unwrap()),
        ms("2026-12-03T09:30:00Z")
    );
    let fetched = call_ok(&sim, "get-appointment", Method::GET, &event_path, None, 200).await;
    assert_eq!(fetched["event"]["description"], "Bring samples");
    assert_eq!(fetched["event"]["address"], "12 Rose Blvd");

    // The contact's appointments, contacts spec shape (`YYYY-MM-DD HH:mm:ss`).
    let path = format!("/contacts/{contact_id}/appointments");
    let listed = sim
        .call_ok(
            "get-appointments-for-contact",
            Method::GET,
            &path,
            None,
            200,
        )
        .await;
    let listed = listed["events"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["startTime"], "2026-12-03 08:00:00");
    assert_eq!(listed[0]["endTime"], "2026-12-03 09:30:00");
    assert_eq!(listed[0]["appointmentStatus"], "showed");
    assert_eq!(listed[0]["status"], "booked");
    assert_eq!(listed[0]["notes"], "Bring samples");

    // Delete takes a `{}` body and answers 201 `{succeeded}`.
    let deleted = call_ok(
        &sim,
        "delete-event",
        Method::DELETE,
        &format!("/calendars/events/{event_id}"),
        Some(json!({})),
        201,
    )
    .await;
    assert_eq!(deleted, json!({"succeeded": true}));
    let (status, body) = call(&sim, Method::GET, &event_path, None).await;
    assert_error(status, &body, 404, &event_id);
    let listed = sim
        .call_ok(
            "get-appointments-for-contact",
            Method::GET,
            &path,
            None,
            200,
        )
        .await;
    assert_eq!(listed, json!({"events": []}));

    let created_events = events_of(&sim, "AppointmentCreate");
    assert_eq!(created_events.len(), 1);
    let appointment = &created_events[0]["appointment"];
    assert_eq!(created_events[0]["locationId"], location_id.as_str());
    assert_eq!(appointment["id"], event_id.as_str());
    assert_eq!(appointment["calendarId"], calendar_id.as_str());
    assert_eq!(appointment["contactId"], contact_id.as_str());
    assert_eq!(appointment["appointmentStatus"], "confirmed");
    assert_eq!(appointment["source"], "third_party");
    let updates = events_of(&sim, "AppointmentUpdate");
    assert_eq!(
        updates.len(),
        2,
        "each edit sends its own type, not the docs' AppointmentCreate"
    );
    assert_eq!(updates[0]["appointment"]["title"], "Bouquet consult");
    assert_eq!(updates[0]["appointment"]["users"], json!([user]));
    let deletions = events_of(&sim, "AppointmentDelete");
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0]["appointment"]["id"], event_id.as_str());
}

#[tokio::test]
async fn calendar_events_in_a_window() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let contact_id = add_contact(&sim, "Eve");
    let calendars = calendars(&sim);
    let book = |calendar_id: &str, start: &str| json!({"calendarId": calendar_id, "locationId": location_id, "contactId": contact_id, "startTime": start});
    let mut ids = Vec::new();
    for (calendar, start) in [
        (0, "2026-12-10T09:00:00Z"),
        (1, "2026-12-10T08:00:00Z"),
        (0, "2026-12-20T09:00:00Z"),
    ] {
        let body = book(&calendars[calendar].0, start);
        let created = call_ok(
            &sim,
            "create-appointment",
            Method::POST,
            "/calendars/events/appointments",
            Some(body),
            200,
        )
        .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let window = |filter: &str| {
        format!(
            "/calendars/events?locationId={location_id}&startTime={}&endTime={}&{filter}",
            ms("2026-12-10T00:00:00Z"),
            ms("2026-12-11T00:00:00Z")
        )
    };
    let by_calendar = call_ok(
        &sim,
        "get-calendar-events",
        Method::GET,
        &window(&format!("calendarId={}", calendars[0].0)),
        None,
        200,
    )
    .await;
    let found: Vec<&str> = by_calendar["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, [ids[0].as_str()]);

    let group_id = sim.world().location(&location_id).unwrap().read().calendars[0]
        .group_id
        .clone()
        .unwrap();
    let by_group = call_ok(
        &sim,
        "get-calendar-events",
        Method::GET,
        &window(&format!("groupId={group_id}")),
        None,
        200,
    )
    .await;
    let found: Vec<&str> = by_group["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        [ids[1].as_str(), ids[0].as_str()],
        "both calendars, earliest first"
    );

    let assignee = calendars_primary(&sim, 1);
    let by_user = call_ok(
        &sim,
        "get-calendar-events",
        Method::GET,
        &window(&format!("userId={assignee}")),
        None,
        200,
    )
    .await;
    let found: Vec<&str> = by_user["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, [ids[1].as_str()]);

    let (status, body) = call(&sim, Method::GET, &window(""), None).await;
    assert_error(status, &body, 400, "calendarId");
    let path = format!("/calendars/events?locationId={location_id}&endTime=1&calendarId=x");
    let (status, body) = call(&sim, Method::GET, &path, None).await;
    assert_error(status, &body, 422, "startTime");
    let path =
        format!("/calendars/events?locationId={location_id}&startTime=soon&endTime=1&calendarId=x");
    let (status, body) = call(&sim, Method::GET, &path, None).await;
    assert_error(status, &body, 422, "startTime");
    let path = window("calendarId=x").replace(&location_id, &other_location(&sim));
    let (status, body) = call(&sim, Method::GET, &path, None).await;
    assert_error(status, &body, 403, "location");
}

fn calendars_primary(sim: &Sim, index: usize) -> String {
    sim.world()
        .location(&sim.location_id())
        .unwrap()
        .read()
        .calendars[index]
        .team_members[0]
        .clone()
}

#[tokio::test]
async fn appointment_errors() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let contact_id = add_contact(&sim, "Errol");
    let calendar_id = calendars(&sim)[0].0.clone();
    let valid = json!({"calendarId": calendar_id, "locationId": location_id, "contactId": contact_id, "startTime": "2026-12-01T10:00:00Z"});
    let create = "/calendars/events/appointments";

    let (status, body) = call(
        &sim,
        Method::POST,
        create,
        Some(json!({"calendarId": calendar_id, "locationId": location_id})),
    )
    .await;
    assert_error(status, &body, 422, "contactId");
    assert_error(status, &body, 422, "startTime");
    let mut bad = valid.clone();
    bad["appointmentStatus"] = json!("booked");
    let (status, body) = call(&sim, Method::POST, create, Some(bad)).await;
    assert_error(status, &body, 422, "appointmentStatus");
    let mut bad = valid.clone();
    bad["startTime"] = json!("tomorrow at ten");
    let (status, body) = call(&sim, Method::POST, create, Some(bad)).await;
    assert_error(status, &body, 422, "startTime");
    let mut bad = valid.clone();
    bad["endTime"] = json!("2026-12-01T09:00:00Z");
    let (status, body) = call(&sim, Method::POST, create, Some(bad)).await;
    assert_error(status, &body, 400, "endTime");
    for (field, value) in [
        ("calendarId", "nosuchcalendar"),
        ("contactId", "nosuchcontact"),
        ("assignedUserId", "nosuchuser"),
    ] {
        let mut bad = valid.clone();
        bad[field] = json!(value);
        let (status, body) = call(&sim, Method::POST, create, Some(bad)).await;
        assert_error(status, &body, 400, value);
    }
    let mut elsewhere = valid.clone();
    elsewhere["locationId"] = json!(other_location(&sim));
    let (status, body) = call(&sim, Method::POST, create, Some(elsewhere)).await;
    assert_error(status, &body, 403, "location");
    let (status, body) = sim.call(Method::POST, create, Some(valid.clone())).await;
    assert_error(status, &body, 400, "Version");
    assert!(
        events_of(&sim, "AppointmentCreate").is_empty(),
        "refused bookings send no webhook"
    );

    for method in [Method::GET, Method::PUT] {
        let (status, body) = call(
            &sim,
            method,
            "/calendars/events/appointments/nosuchevent",
            Some(json!({})),
        )
        .await;
        assert_error(status, &body, 404, "nosuchevent");
    }
    let (status, body) = call(
        &sim,
        Method::DELETE,
        "/calendars/events/nosuchevent",
        Some(json!({})),
    )
    .await;
    assert_error(status, &body, 404, "nosuchevent");
    let (status, body) = sim
        .call(Method::GET, "/contacts/nosuchcontact/appointments", None)
        .await;
    assert_error(status, &body, 404, "nosuchcontact");

    let created = call_ok(
        &sim,
        "create-appointment",
        Method::POST,
        create,
        Some(valid),
        200,
    )
    .await;
    let event_id = created["id"].as_str().unwrap();
    let edit_path = format!("/calendars/events/appointments/{event_id}");
    let (status, body) = call(
        &sim,
        Method::PUT,
        &edit_path,
        Some(json!({"calendarId": "nosuchcalendar"})),
    )
    .await;
    assert_error(status, &body, 400, "nosuchcalendar");
    let (status, body) = call(
        &sim,
        Method::PUT,
        &edit_path,
        Some(json!({"contactId": contact_id})),
    )
    .await;
    assert_error(status, &body, 422, "property contactId should not exist");

    // delete-event's body: its schema declares no property, so any is refused, and it must be JSON.
    let delete_path = format!("/calendars/events/{event_id}");
    let (status, body) = call(
        &sim,
        Method::DELETE,
        &delete_path,
        Some(json!({"reason": "moved"})),
    )
    .await;
    assert_error(status, &body, 422, "property reason should not exist");
    let request = sim
        .http
        .delete(format!("{}{delete_path}", sim.base_url))
        .bearer_auth(PIT)
        .header("Version", CALENDARS_VERSION)
        .header("content-type", "application/json")
        .body("{not json");
    let (status, body) = sim.send(request).await;
    assert_error(status, &body, 400, "");
    call_ok(&sim, "get-appointment", Method::GET, &edit_path, None, 200).await;
    // No body at all is read as `{}`.
    let request = sim
        .http
        .delete(format!("{}{delete_path}", sim.base_url))
        .bearer_auth(PIT)
        .header("Version", CALENDARS_VERSION);
    let (status, body) = sim.send(request).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    assert_conforms("delete-event", 201, &body);
}
