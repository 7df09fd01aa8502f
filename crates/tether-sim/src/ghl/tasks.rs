//! The tasks of a contact (`/contacts/{contactId}/tasks...`, contacts spec): list, create, get,
//! update, complete and delete, with the `TaskCreate`, `TaskComplete` and `TaskDelete` webhooks.
//!
//! Tasks live inside their contact, so every lookup is a hash lookup of the contact followed by a
//! scan of its (short) task list. The gate has already checked token, `Version`, scope and the
//! body's schema; what is left here is what only the data can tell: that the contact and task
//! exist in the caller's location, that `dueDate` is a date and that `assignedTo` is a user.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::error::{GhlError, GhlResult};
use super::extract::GhlJson;
use super::model::{Contact, Task, iso};
use super::state::{Location, World, contact_not_found};

/// The routes of this family, with exactly the paths of the operation table.
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/contacts/{contactId}/tasks", get(list).post(create))
        .route(
            "/contacts/{contactId}/tasks/{taskId}",
            get(get_one).put(update).delete(delete),
        )
        .route(
            "/contacts/{contactId}/tasks/{taskId}/completed",
            put(complete),
        )
}

/// The 404 for a task id that is not on the contact.
pub fn task_not_found(task_id: &str) -> GhlError {
    GhlError::NotFound(format!("Task with id {task_id} not found"))
}

/// Parses a date the way class-validator's `IsISO8601` accepts it: RFC 3339 with an offset,
/// a date-time without offset (taken as UTC) or a bare date (midnight UTC).
pub(super) fn parse_iso_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
}

/// The contact, mutable, or the 404 the API answers.
pub(super) fn contact_mut<'a>(
    location: &'a mut Location,
    contact_id: &str,
) -> GhlResult<&'a mut Contact> {
    location
        .contacts
        .get_mut(contact_id)
        .map(|contact| &mut **contact)
        .ok_or_else(|| contact_not_found(contact_id))
}

fn due_date(text: &str) -> GhlResult<String> {
    parse_iso_time(text)
        .map(iso)
        .ok_or_else(|| GhlError::unprocessable("dueDate must be a valid ISO 8601 date string"))
}

/// `assignedTo` must name a user of the location, as the API refuses unknown assignees.
fn check_assignee(location: &Location, assigned_to: Option<&str>) -> GhlResult<()> {
    match assigned_to {
        Some(user_id) if !location.users.iter().any(|user| user == user_id) => {
            Err(GhlError::unprocessable(format!(
                "assignedTo: user {user_id} does not exist in this location"
            )))
        }
        _ => Ok(()),
    }
}

/// The webhook payload of `TaskCreate`, `TaskComplete` and `TaskDelete`
/// (`webhook-examples/Task*.json`); `type` and `locationId` are added by the outbox.
fn task_event(task: &Task) -> Value {
    let mut payload = json!({
        "id": task.id,
        "contactId": task.contact_id,
        "title": task.title,
        "dateAdded": iso(task.date_added),
        "dueDate": task.due_date,
    });
    // Absent optional fields are left out, as a JSON view of the stored document would.
    if let Some(assigned_to) = &task.assigned_to {
        payload["assignedTo"] = json!(assigned_to);
    }
    if let Some(body) = &task.body {
        payload["body"] = json!(body);
    }
    payload
}

fn task_view(task: &Task) -> Value {
    serde_json::to_value(task).expect("a task serializes to JSON")
}

async fn list(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
) -> GhlResult<axum::Json<Value>> {
    let location = world.location(caller.location_id()?)?;
    let location = location.read();
    let contact = location.contact(&contact_id)?;
    let tasks: Vec<Value> = contact.tasks.iter().map(task_view).collect();
    Ok(axum::Json(json!({ "tasks": tasks })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTask {
    title: String,
    body: Option<String>,
    due_date: String,
    completed: bool,
    assigned_to: Option<String>,
}

/// `create-task`: 201 `{task}`. A task created as already completed sends `TaskCreate` only:
/// `TaskComplete` is the event of a task *becoming* complete.
async fn create(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
    GhlJson(input): GhlJson<CreateTask>,
) -> GhlResult<(StatusCode, axum::Json<Value>)> {
    let location_id = caller.location_id()?;
    // A malformed date is a body problem (422), reported before the ids are looked up.
    let due_date = due_date(&input.due_date)?;
    let location = world.location(location_id)?;
    let task = {
        let mut location = location.write();
        location.contact(&contact_id)?;
        check_assignee(&location, input.assigned_to.as_deref())?;
        let task = Task {
            id: world.new_id(),
            title: input.title,
            body: input.body,
            assigned_to: input.assigned_to,
            due_date,
            completed: input.completed,
            contact_id: contact_id.clone(),
            date_added: world.now(),
        };
        contact_mut(&mut location, &contact_id)?
            .tasks
            .push(task.clone());
        task
    };
    world
        .webhooks
        .emit("TaskCreate", location_id, task_event(&task));
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "task": task_view(&task) })),
    ))
}

async fn get_one(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, task_id)): Path<(String, String)>,
) -> GhlResult<axum::Json<Value>> {
    let location = world.location(caller.location_id()?)?;
    let location = location.read();
    let task = location
        .contact(&contact_id)?
        .tasks
        .iter()
        .find(|task| task.id == task_id)
        .ok_or_else(|| task_not_found(&task_id))?;
    Ok(axum::Json(json!({ "task": task_view(task) })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateTask {
    title: Option<String>,
    body: Option<String>,
    due_date: Option<String>,
    completed: Option<bool>,
    assigned_to: Option<String>,
}

/// Checks `check` against the location, then applies `apply` to the task; returns the task
/// after the change, and sends `TaskComplete` when it went from open to done.
fn change_task(
    world: &World,
    location_id: &str,
    contact_id: &str,
    task_id: &str,
    check: impl FnOnce(&Location) -> GhlResult<()>,
    apply: impl FnOnce(&mut Task),
) -> GhlResult<Task> {
    let location = world.location(location_id)?;
    let (task, became_complete) = {
        let mut location = location.write();
        location.contact(contact_id)?;
        check(&location)?;
        let task = contact_mut(&mut location, contact_id)?
            .tasks
            .iter_mut()
            .find(|task| task.id == task_id)
            .ok_or_else(|| task_not_found(task_id))?;
        let was_complete = task.completed;
        apply(task);
        (task.clone(), !was_complete && task.completed)
    };
    if became_complete {
        world
            .webhooks
            .emit("TaskComplete", location_id, task_event(&task));
    }
    Ok(task)
}

/// `update-task`: every field optional; fields not given are kept.
async fn update(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, task_id)): Path<(String, String)>,
    GhlJson(input): GhlJson<UpdateTask>,
) -> GhlResult<axum::Json<Value>> {
    let location_id = caller.location_id()?;
    // A malformed date is a body problem (422), reported before the ids are looked up.
    let new_due_date = input.due_date.as_deref().map(due_date).transpose()?;
    let check = |location: &Location| check_assignee(location, input.assigned_to.as_deref());
    let apply = |task: &mut Task| {
        if let Some(title) = input.title {
            task.title = title;
        }
        if let Some(body) = input.body {
            task.body = Some(body);
        }
        if let Some(due_date) = new_due_date {
            task.due_date = due_date;
        }
        if let Some(completed) = input.completed {
            task.completed = completed;
        }
        if let Some(assigned_to) = input.assigned_to.clone() {
            task.assigned_to = Some(assigned_to);
        }
    };
    let task = change_task(&world, location_id, &contact_id, &task_id, check, apply)?;
    Ok(axum::Json(json!({ "task": task_view(&task) })))
}

#[derive(Deserialize)]
struct CompleteTask {
    completed: bool,
}

/// `update-task-completed`: sets `completed`, true or false.
async fn complete(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, task_id)): Path<(String, String)>,
    GhlJson(input): GhlJson<CompleteTask>,
) -> GhlResult<axum::Json<Value>> {
    let location_id = caller.location_id()?;
    let apply = |task: &mut Task| task.completed = input.completed;
    let task = change_task(
        &world,
        location_id,
        &contact_id,
        &task_id,
        |_| Ok(()),
        apply,
    )?;
    Ok(axum::Json(json!({ "task": task_view(&task) })))
}

/// `delete-task`: 200 `{succeded: true}` (the v2 spelling).
async fn delete(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, task_id)): Path<(String, String)>,
) -> GhlResult<axum::Json<Value>> {
    let location_id = caller.location_id()?;
    let location = world.location(location_id)?;
    let task = {
        let mut location = location.write();
        let contact = contact_mut(&mut location, &contact_id)?;
        let index = contact
            .tasks
            .iter()
            .position(|task| task.id == task_id)
            .ok_or_else(|| task_not_found(&task_id))?;
        contact.tasks.remove(index)
    };
    world
        .webhooks
        .emit("TaskDelete", location_id, task_event(&task));
    Ok(axum::Json(json!({ "succeded": true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<&str>) {
        assert_eq!(parse_iso_time(text).map(iso).as_deref(), expected, "{text}");
    }

    #[test]
    fn iso_dates_in_the_forms_class_validator_accepts() {
        check("2020-10-25T11:00:00Z", Some("2020-10-25T11:00:00.000Z"));
        check(
            "2020-10-25T11:00:00+05:30",
            Some("2020-10-25T05:30:00.000Z"),
        );
        check("2021-07-08T02:30:00.123Z", Some("2021-07-08T02:30:00.123Z"));
        check("2020-10-25T11:00:00", Some("2020-10-25T11:00:00.000Z"));
        check("2020-10-25", Some("2020-10-25T00:00:00.000Z"));
        check("tomorrow", None);
        check("2020-13-01", None);
        check("", None);
    }
}
