//! The Flickr simulator's admin API under `/__sim/` (JSON; never rate-limited, faulted or signed),
//! for tests and the demo: what a test needs to see and what a Flickr user would do in the browser.
//!
//! | route | does |
//! | --- | --- |
//! | `GET /__sim/health` | liveness, counts, served methods |
//! | `GET/DELETE /__sim/requests` | the request log (`?after=seq`) / forget it |
//! | `GET/PUT /__sim/faults` | `{error_rate, latency_ms}` |
//! | `GET/PUT /__sim/rate-limit` | `{requests, window_ms}` or `null` (off); a PUT resets the counts |
//! | `POST /__sim/clock/advance` | `{secs}`: moves the simulated clock forward |
//! | `POST /__sim/tokens` | `{consumer_key?, user_nsid, perms}` → `{oauth_token, oauth_token_secret}` |
//! | `POST /__sim/tokens/revoke` | `{oauth_token}`: the user removes the app |
//! | `POST /__sim/users` | `{username, realname?, email?}` → `{nsid}` |
//! | `POST /__sim/photos` | `{owner, title?, description?, tags?: [raw], is_public?}` → `{id}` |
//! | `GET/PATCH /__sim/photos/{id}` | the photo / `{title?, description?, tags?: [raw]}` as the owner edits it |
//! | `POST /__sim/comments` | `{photo_id, author, text}` → `{id}` |
//! | `POST /__sim/contacts` | `{user, contact, friend?, family?}` |

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::{Perms, StateError, World};
use super::{DEFAULT_CONSUMER_KEY, SimFaults, SimHourlyLimit, methods};

/// The admin routes.
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/__sim/health", get(health))
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route("/__sim/faults", get(get_faults).put(set_faults))
        .route("/__sim/rate-limit", get(get_rate_limit).put(set_rate_limit))
        .route("/__sim/clock/advance", post(advance_clock))
        .route("/__sim/tokens", post(mint_token))
        .route("/__sim/tokens/revoke", post(revoke_token))
        .route("/__sim/users", post(add_user))
        .route("/__sim/photos", post(add_photo))
        .route("/__sim/photos/{id}", get(get_photo).patch(edit_photo))
        .route("/__sim/comments", post(add_comment))
        .route("/__sim/contacts", post(add_contact))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn state_error(failure: StateError) -> Response {
    let status = match failure {
        StateError::UnknownUser(_) | StateError::UnknownPhoto(_) => StatusCode::NOT_FOUND,
        StateError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, failure.to_string())
}

async fn health(State(world): State<Arc<World>>) -> Json<Value> {
    Json(json!({
        "ok": true,
        "now": world.now(),
        "counts": world.counts(),
        "served_methods": methods::served(),
    }))
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    after: u64,
}

async fn requests(State(world): State<Arc<World>>, Query(since): Query<Since>) -> Json<Value> {
    Json(json!({ "requests": world.log.since(since.after) }))
}

async fn clear_requests(State(world): State<Arc<World>>) -> Json<Value> {
    world.log.clear();
    Json(json!({ "cleared": true }))
}

async fn get_faults(State(world): State<Arc<World>>) -> Json<SimFaults> {
    Json(world.faults.lock().clone())
}

async fn set_faults(State(world): State<Arc<World>>, Json(faults): Json<SimFaults>) -> Response {
    if !(0.0..=1.0).contains(&faults.error_rate) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "error_rate must be within 0..=1",
        );
    }
    *world.faults.lock() = faults.clone();
    Json(faults).into_response()
}

async fn get_rate_limit(State(world): State<Arc<World>>) -> Json<Option<SimHourlyLimit>> {
    Json(world.limiter.lock().limit)
}

/// Replaces the limit (`null` turns it off) and forgets every count.
async fn set_rate_limit(
    State(world): State<Arc<World>>,
    Json(limit): Json<Option<SimHourlyLimit>>,
) -> Response {
    if limit.is_some_and(|limit| limit.window_ms == 0) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "window_ms must be positive",
        );
    }
    *world.limiter.lock() = super::state::HourlyLimiter::new(limit);
    Json(limit).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    secs: u64,
}

async fn advance_clock(
    State(world): State<Arc<World>>,
    Json(advance): Json<Advance>,
) -> Json<Value> {
    world.advance_clock(advance.secs);
    Json(json!({ "now": world.now() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    consumer_key: Option<String>,
    user_nsid: String,
    perms: Perms,
}

async fn mint_token(State(world): State<Arc<World>>, Json(request): Json<NewToken>) -> Response {
    let consumer_key = request
        .consumer_key
        .unwrap_or_else(|| DEFAULT_CONSUMER_KEY.to_owned());
    if world.consumer_secret(&consumer_key).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            format!("consumer key {consumer_key} is not registered"),
        );
    }
    if world.user(&request.user_nsid).is_none() {
        return state_error(StateError::UnknownUser(request.user_nsid));
    }
    let (token, secret) = world.mint_access_token(&consumer_key, &request.user_nsid, request.perms);
    Json(json!({ "oauth_token": token, "oauth_token_secret": secret })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revoke {
    oauth_token: String,
}

async fn revoke_token(State(world): State<Arc<World>>, Json(request): Json<Revoke>) -> Json<Value> {
    Json(json!({ "revoked": world.revoke_token(&request.oauth_token) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    #[serde(default)]
    realname: String,
    email: Option<String>,
}

async fn add_user(State(world): State<Arc<World>>, Json(request): Json<NewUser>) -> Response {
    if request.username.trim().is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "username must not be blank",
        );
    }
    let nsid = world.add_user(
        &request.username,
        &request.realname,
        request.email.as_deref(),
    );
    Json(json!({ "nsid": nsid })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPhoto {
    owner: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    is_public: Option<bool>,
}

async fn add_photo(State(world): State<Arc<World>>, Json(request): Json<NewPhoto>) -> Response {
    let now = world.now();
    let mut data = world.data.write();
    match data.insert_photo(
        &request.owner,
        &request.title,
        &request.description,
        &request.tags,
        now,
    ) {
        Ok(id) => {
            if let (Some(photo), Some(is_public)) = (data.photos.get_mut(&id), request.is_public) {
                photo.is_public = is_public;
            }
            Json(json!({ "id": id })).into_response()
        }
        Err(failure) => state_error(failure),
    }
}

async fn get_photo(State(world): State<Arc<World>>, Path(id): Path<String>) -> Response {
    match world.photo(&id) {
        Some(photo) => Json(photo).into_response(),
        None => state_error(StateError::UnknownPhoto(id)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhotoEdit {
    title: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
}

async fn edit_photo(
    State(world): State<Arc<World>>,
    Path(id): Path<String>,
    Json(edit): Json<PhotoEdit>,
) -> Response {
    let result = world.edit_photo(
        &id,
        edit.title.as_deref(),
        edit.description.as_deref(),
        edit.tags.as_deref(),
    );
    match result {
        Ok(()) => match world.photo(&id) {
            Some(photo) => Json(photo).into_response(),
            None => state_error(StateError::UnknownPhoto(id)),
        },
        Err(failure) => state_error(failure),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewComment {
    photo_id: String,
    author: String,
    text: String,
}

async fn add_comment(State(world): State<Arc<World>>, Json(request): Json<NewComment>) -> Response {
    let now = world.now();
    let result =
        world
            .data
            .write()
            .insert_comment(&request.photo_id, &request.author, &request.text, now);
    match result {
        Ok(id) => Json(json!({ "id": id })).into_response(),
        Err(failure) => state_error(failure),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewContact {
    user: String,
    contact: String,
    #[serde(default)]
    friend: bool,
    #[serde(default)]
    family: bool,
}

async fn add_contact(State(world): State<Arc<World>>, Json(request): Json<NewContact>) -> Response {
    let now = world.now();
    let result = world.data.write().insert_contact(
        &request.user,
        &request.contact,
        request.friend,
        request.family,
        now,
    );
    match result {
        Ok(()) => Json(json!({ "added": true })).into_response(),
        Err(failure) => state_error(failure),
    }
}
