//! The notes of a contact (`/contacts/{contactId}/notes...`, contacts spec): list, create, get,
//! update and delete, with the `NoteCreate`, `NoteUpdate` and `NoteDelete` webhooks.
//!
//! Notes live inside their contact, like tasks. The gate has checked token, `Version`, scope and
//! the body's schema (`body` required on create); handlers look the ids up.
//!
//! `userId` is stored as given: the spec documents no check of it (unlike a task's `assignedTo`),
//! and a note written through the API without `userId` has no author.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::error::{GhlError, GhlResult};
use super::extract::GhlJson;
use super::model::{Note, iso};
use super::state::World;
use super::tasks::contact_mut;

/// The routes of this family, with exactly the paths of the operation table.
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/contacts/{contactId}/notes", get(list).post(create))
        .route(
            "/contacts/{contactId}/notes/{id}",
            get(get_one).put(update).delete(delete),
        )
}

/// The 404 for a note id that is not on the contact.
pub fn note_not_found(note_id: &str) -> GhlError {
    GhlError::NotFound(format!("Note with id {note_id} not found"))
}

/// The webhook payload of `NoteCreate`, `NoteUpdate` and `NoteDelete`
/// (`webhook-examples/Note*.json`); `type` and `locationId` are added by the outbox.
fn note_event(note: &Note) -> Value {
    json!({
        "id": note.id,
        "body": note.body,
        "contactId": note.contact_id,
        "dateAdded": note.date_added,
    })
}

fn note_view(note: &Note) -> Value {
    serde_json::to_value(note).expect("a note serializes to JSON")
}

async fn list(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
) -> GhlResult<axum::Json<Value>> {
    let location = world.location(caller.location_id()?)?;
    let location = location.read();
    let notes: Vec<Value> = location
        .contact(&contact_id)?
        .notes
        .iter()
        .map(note_view)
        .collect();
    Ok(axum::Json(json!({ "notes": notes })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateNote {
    body: String,
    user_id: Option<String>,
    title: Option<String>,
    color: Option<String>,
    #[serde(default)]
    pinned: bool,
}

/// `create-note`: 201 `{note}`.
async fn create(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
    GhlJson(input): GhlJson<CreateNote>,
) -> GhlResult<(StatusCode, axum::Json<Value>)> {
    let location_id = caller.location_id()?;
    let location = world.location(location_id)?;
    let note = {
        let mut location = location.write();
        let contact = contact_mut(&mut location, &contact_id)?;
        let note = Note {
            id: world.new_id(),
            body: input.body,
            user_id: input.user_id,
            date_added: iso(world.now()),
            contact_id: contact_id.clone(),
            title: input.title,
            color: input.color,
            pinned: input.pinned,
        };
        contact.notes.push(note.clone());
        note
    };
    world
        .webhooks
        .emit("NoteCreate", location_id, note_event(&note));
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "note": note_view(&note) })),
    ))
}

async fn get_one(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, note_id)): Path<(String, String)>,
) -> GhlResult<axum::Json<Value>> {
    let location = world.location(caller.location_id()?)?;
    let location = location.read();
    let note = location
        .contact(&contact_id)?
        .notes
        .iter()
        .find(|note| note.id == note_id)
        .ok_or_else(|| note_not_found(&note_id))?;
    Ok(axum::Json(json!({ "note": note_view(note) })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateNote {
    body: Option<String>,
    user_id: Option<String>,
    title: Option<String>,
    color: Option<String>,
    pinned: Option<bool>,
}

/// `update-note`: every field optional; fields not given are kept. Sends `NoteUpdate` even when
/// nothing changed, as the write happened.
async fn update(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, note_id)): Path<(String, String)>,
    GhlJson(input): GhlJson<UpdateNote>,
) -> GhlResult<axum::Json<Value>> {
    let location_id = caller.location_id()?;
    let location = world.location(location_id)?;
    let note = {
        let mut location = location.write();
        let note = contact_mut(&mut location, &contact_id)?
            .notes
            .iter_mut()
            .find(|note| note.id == note_id)
            .ok_or_else(|| note_not_found(&note_id))?;
        if let Some(body) = input.body {
            note.body = body;
        }
        if let Some(user_id) = input.user_id {
            note.user_id = Some(user_id);
        }
        if let Some(title) = input.title {
            note.title = Some(title);
        }
        if let Some(color) = input.color {
            note.color = Some(color);
        }
        if let Some(pinned) = input.pinned {
            note.pinned = pinned;
        }
        note.clone()
    };
    world
        .webhooks
        .emit("NoteUpdate", location_id, note_event(&note));
    Ok(axum::Json(json!({ "note": note_view(&note) })))
}

/// `delete-note`: 200 `{succeded: true}` (the v2 spelling).
async fn delete(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, note_id)): Path<(String, String)>,
) -> GhlResult<axum::Json<Value>> {
    let location_id = caller.location_id()?;
    let location = world.location(location_id)?;
    let note = {
        let mut location = location.write();
        let contact = contact_mut(&mut location, &contact_id)?;
        let index = contact
            .notes
            .iter()
            .position(|note| note.id == note_id)
            .ok_or_else(|| note_not_found(&note_id))?;
        contact.notes.remove(index)
    };
    world
        .webhooks
        .emit("NoteDelete", location_id, note_event(&note));
    Ok(axum::Json(json!({ "succeded": true })))
}
