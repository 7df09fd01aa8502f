//! Tasks and notes of a contact over HTTP: every operation's success answer checked against the
//! official schema, the error answers, and the webhooks each change queues.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tether_sim::ghl::model::Contact;

use crate::support::{CALENDARS_VERSION, Sim};

/// Puts a contact straight into the main location (the contacts routes are not under test here).
pub fn add_contact(sim: &Sim, first_name: &str) -> String {
    let world = sim.world();
    let id = world.new_id();
    let now = world.now();
    let contact = Contact {
        id: id.clone(),
        location_id: sim.location_id(),
        first_name: Some(first_name.to_owned()),
        last_name: Some("Tester".into()),
        date_added: now,
        date_updated: now,
        ..Contact::default()
    };
    world
        .location(&sim.location_id())
        .unwrap()
        .write()
        .insert_contact(contact);
    id
}

/// The users the seed gave the main location.
pub fn users(sim: &Sim) -> Vec<String> {
    sim.world()
        .location(&sim.location_id())
        .unwrap()
        .read()
        .users
        .clone()
}

/// The emitted webhook events of `event_type`, oldest first.
pub fn events_of(sim: &Sim, event_type: &str) -> Vec<Value> {
    sim.world()
        .webhooks
        .events()
        .into_iter()
        .filter(|event| event["type"] == event_type)
        .collect()
}

/// Asserts an error answer: its status, GHL's `{statusCode, message}` shape, and that the
/// message mentions `needle`.
pub fn assert_error(status: StatusCode, body: &Value, expected: u16, needle: &str) {
    assert_eq!(status.as_u16(), expected, "{body}");
    assert_eq!(body["statusCode"], expected, "{body}");
    let message = match &body["message"] {
        Value::Array(messages) => messages
            .iter()
            .map(|m| m.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    assert!(message.contains(needle), "{needle:?} not in {body}");
}

#[tokio::test]
async fn task_lifecycle_conforms_and_sends_webhooks() {
    let sim = Sim::default().await;
    let contact_id = add_contact(&sim, "Tina");
    let user = users(&sim)[0].clone();
    let tasks_path = format!("/contacts/{contact_id}/tasks");

    let empty = sim
        .call_ok("get-all-tasks", Method::GET, &tasks_path, None, 200)
        .await;
    assert_eq!(empty, json!({"tasks": []}));

    let body = json!({"title": "Call back", "body": "About the wedding", "dueDate": "2026-03-01T10:00:00+01:00", "completed": false, "assignedTo": user});
    let created = sim
        .call_ok("create-task", Method::POST, &tasks_path, Some(body), 201)
        .await;
    let task = &created["task"];
    let task_id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(task["title"], "Call back");
    assert_eq!(task["dueDate"], "2026-03-01T09:00:00.000Z");
    assert_eq!(task["completed"], false);
    assert_eq!(task["assignedTo"], user.as_str());
    assert_eq!(task["contactId"], contact_id.as_str());

    let task_path = format!("{tasks_path}/{task_id}");
    let fetched = sim
        .call_ok("get-task", Method::GET, &task_path, None, 200)
        .await;
    assert_eq!(fetched["task"], *task);
    let listed = sim
        .call_ok("get-all-tasks", Method::GET, &tasks_path, None, 200)
        .await;
    assert_eq!(listed["tasks"], json!([task]));

    let updated = sim
        .call_ok(
            "update-task",
            Method::PUT,
            &task_path,
            Some(json!({"title": "Call back today"})),
            200,
        )
        .await;
    assert_eq!(updated["task"]["title"], "Call back today");
    assert_eq!(
        updated["task"]["body"], "About the wedding",
        "fields not given are kept"
    );
    assert!(events_of(&sim, "TaskComplete").is_empty());

    let completed_path = format!("{task_path}/completed");
    let done = sim
        .call_ok(
            "update-task-completed",
            Method::PUT,
            &completed_path,
            Some(json!({"completed": true})),
            200,
        )
        .await;
    assert_eq!(done["task"]["completed"], true);
    // Completing an already complete task is no new completion.
    sim.call_ok(
        "update-task",
        Method::PUT,
        &task_path,
        Some(json!({"completed": true})),
        200,
    )
    .await;
    let reopened = sim
        .call_ok(
            "update-task-completed",
            Method::PUT,
            &completed_path,
            Some(json!({"completed": false})),
            200,
        )
        .await;
    assert_eq!(reopened["task"]["completed"], false);

    let deleted = sim
        .call_ok("delete-task", Method::DELETE, &task_path, None, 200)
        .await;
    assert_eq!(deleted, json!({"succeded": true}));
    let (status, body) = sim.call(Method::GET, &task_path, None).await;
    assert_error(status, &body, 404, &task_id);

    let created_events = events_of(&sim, "TaskCreate");
    assert_eq!(created_events.len(), 1);
    let event = &created_events[0];
    assert_eq!(event["locationId"], sim.location_id());
    assert_eq!(event["id"], task_id.as_str());
    assert_eq!(event["contactId"], contact_id.as_str());
    assert_eq!(event["assignedTo"], user.as_str());
    assert_eq!(event["body"], "About the wedding");
    assert_eq!(event["dueDate"], "2026-03-01T09:00:00.000Z");
    assert!(event["dateAdded"].as_str().unwrap().ends_with('Z'));
    let completions = events_of(&sim, "TaskComplete");
    assert_eq!(
        completions.len(),
        1,
        "one TaskComplete per open → done flip: {completions:?}"
    );
    assert_eq!(completions[0]["title"], "Call back today");
    let deletions = events_of(&sim, "TaskDelete");
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0]["id"], task_id.as_str());
}

#[tokio::test]
async fn task_errors() {
    let sim = Sim::default().await;
    let contact_id = add_contact(&sim, "Tom");
    let tasks_path = format!("/contacts/{contact_id}/tasks");
    let valid = json!({"title": "t", "dueDate": "2026-03-01T10:00:00Z", "completed": false});

    let (status, body) = sim
        .call(Method::GET, "/contacts/nosuchcontact/tasks", None)
        .await;
    assert_error(status, &body, 404, "nosuchcontact");
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/nosuchcontact/tasks",
            Some(valid.clone()),
        )
        .await;
    assert_error(status, &body, 404, "nosuchcontact");
    let (status, body) = sim
        .call(Method::GET, &format!("{tasks_path}/nosuchtask"), None)
        .await;
    assert_error(status, &body, 404, "nosuchtask");
    let (status, body) = sim
        .call(
            Method::PUT,
            &format!("{tasks_path}/nosuchtask/completed"),
            Some(json!({"completed": true})),
        )
        .await;
    assert_error(status, &body, 404, "nosuchtask");
    let (status, body) = sim
        .call(Method::DELETE, &format!("{tasks_path}/nosuchtask"), None)
        .await;
    assert_error(status, &body, 404, "nosuchtask");

    // Required fields, each named.
    let (status, body) = sim
        .call(Method::POST, &tasks_path, Some(json!({"title": "t"})))
        .await;
    assert_error(status, &body, 422, "dueDate");
    assert_error(status, &body, 422, "completed");
    let (status, body) = sim
        .call(
            Method::PUT,
            &format!("{tasks_path}/x/completed"),
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, 422, "completed");
    // Semantic checks.
    let mut bad_date = valid.clone();
    bad_date["dueDate"] = json!("next tuesday");
    let (status, body) = sim.call(Method::POST, &tasks_path, Some(bad_date)).await;
    assert_error(status, &body, 422, "dueDate");
    let mut stranger = valid.clone();
    stranger["assignedTo"] = json!("not-a-user-of-this-location");
    let (status, body) = sim.call(Method::POST, &tasks_path, Some(stranger)).await;
    assert_error(status, &body, 422, "assignedTo");

    let created = sim
        .call_ok("create-task", Method::POST, &tasks_path, Some(valid), 201)
        .await;
    let task_path = format!("{tasks_path}/{}", created["task"]["id"].as_str().unwrap());
    let (status, body) = sim
        .call(
            Method::PUT,
            &task_path,
            Some(json!({"assignedTo": "nobody"})),
        )
        .await;
    assert_error(status, &body, 422, "assignedTo");
    let (status, body) = sim
        .call(Method::PUT, &task_path, Some(json!({"completed": "yes"})))
        .await;
    assert_error(status, &body, 422, "completed");
    // The task was left as it was by the refused updates.
    let fetched = sim
        .call_ok("get-task", Method::GET, &task_path, None, 200)
        .await;
    assert_eq!(fetched["task"]["completed"], false);
    assert!(fetched["task"].get("assignedTo").is_none());

    // A task id of another contact is not found under this one.
    let other_contact = add_contact(&sim, "Other");
    let other_path = task_path.replace(&contact_id, &other_contact);
    let (status, body) = sim.call(Method::GET, &other_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // The Calendars `Version` is not the Contacts one.
    let request = sim
        .http
        .get(format!("{}{task_path}", sim.base_url))
        .bearer_auth(crate::support::PIT);
    let (status, body) = sim.send(request.header("Version", CALENDARS_VERSION)).await;
    assert_error(status, &body, 400, "Version");
}

#[tokio::test]
async fn note_lifecycle_conforms_and_sends_webhooks() {
    let sim = Sim::default().await;
    let contact_id = add_contact(&sim, "Nora");
    let user = users(&sim)[1].clone();
    let notes_path = format!("/contacts/{contact_id}/notes");

    let empty = sim
        .call_ok("get-all-notes", Method::GET, &notes_path, None, 200)
        .await;
    assert_eq!(empty, json!({"notes": []}));

    let body = json!({"body": "Prefers tulips", "userId": user, "title": "Taste", "color": "#FFAA00", "pinned": true});
    let created = sim
        .call_ok("create-note", Method::POST, &notes_path, Some(body), 201)
        .await;
    let note = &created["note"];
    let note_id = note["id"].as_str().unwrap().to_owned();
    assert_eq!(note["body"], "Prefers tulips");
    assert_eq!(note["userId"], user.as_str());
    assert_eq!(note["pinned"], true);
    assert_eq!(note["contactId"], contact_id.as_str());
    let minimal = sim
        .call_ok(
            "create-note",
            Method::POST,
            &notes_path,
            Some(json!({"body": "Second note"})),
            201,
        )
        .await;
    assert_eq!(minimal["note"]["pinned"], false);

    let note_path = format!("{notes_path}/{note_id}");
    let fetched = sim
        .call_ok("get-note", Method::GET, &note_path, None, 200)
        .await;
    assert_eq!(fetched["note"], *note);
    let listed = sim
        .call_ok("get-all-notes", Method::GET, &notes_path, None, 200)
        .await;
    let listed_ids: Vec<&Value> = listed["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(
        listed_ids,
        [&note["id"], &minimal["note"]["id"]],
        "oldest first"
    );

    let updated = sim
        .call_ok(
            "update-note",
            Method::PUT,
            &note_path,
            Some(json!({"body": "Prefers peonies", "pinned": false})),
            200,
        )
        .await;
    assert_eq!(updated["note"]["body"], "Prefers peonies");
    assert_eq!(updated["note"]["pinned"], false);
    assert_eq!(
        updated["note"]["title"], "Taste",
        "fields not given are kept"
    );

    let deleted = sim
        .call_ok("delete-note", Method::DELETE, &note_path, None, 200)
        .await;
    assert_eq!(deleted, json!({"succeded": true}));
    let (status, body) = sim.call(Method::GET, &note_path, None).await;
    assert_error(status, &body, 404, &note_id);

    assert_eq!(events_of(&sim, "NoteCreate").len(), 2);
    let updates = events_of(&sim, "NoteUpdate");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["body"], "Prefers peonies");
    assert_eq!(updates[0]["id"], note_id.as_str());
    assert_eq!(updates[0]["contactId"], contact_id.as_str());
    assert_eq!(updates[0]["locationId"], sim.location_id());
    assert_eq!(updates[0]["dateAdded"], note["dateAdded"]);
    let deletions = events_of(&sim, "NoteDelete");
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0]["id"], note_id.as_str());
}

#[tokio::test]
async fn note_errors() {
    let sim = Sim::default().await;
    let contact_id = add_contact(&sim, "Ned");
    let notes_path = format!("/contacts/{contact_id}/notes");

    let (status, body) = sim
        .call(Method::GET, "/contacts/nosuchcontact/notes", None)
        .await;
    assert_error(status, &body, 404, "nosuchcontact");
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/nosuchcontact/notes",
            Some(json!({"body": "x"})),
        )
        .await;
    assert_error(status, &body, 404, "nosuchcontact");
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = sim
            .call(method, &format!("{notes_path}/nosuchnote"), None)
            .await;
        assert_error(status, &body, 404, "nosuchnote");
    }
    let (status, body) = sim
        .call(
            Method::PUT,
            &format!("{notes_path}/nosuchnote"),
            Some(json!({"body": "x"})),
        )
        .await;
    assert_error(status, &body, 404, "nosuchnote");

    let (status, body) = sim
        .call(Method::POST, &notes_path, Some(json!({"title": "no body"})))
        .await;
    assert_error(status, &body, 422, "body");
    let (status, body) = sim
        .call(
            Method::POST,
            &notes_path,
            Some(json!({"body": "x", "colour": "red"})),
        )
        .await;
    assert_error(status, &body, 422, "property colour should not exist");
    let request = sim
        .request(Method::POST, &notes_path)
        .header("content-type", "application/json")
        .body("{\"body\": ");
    let (status, body) = sim.send(request).await;
    assert_error(status, &body, 400, "");
    assert!(
        events_of(&sim, "NoteCreate").is_empty(),
        "refused writes send no webhook"
    );
}
