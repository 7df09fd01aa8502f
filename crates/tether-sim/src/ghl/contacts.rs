//! Routes of the `contacts` family of Contacts v2: create, read, update, delete and upsert a
//! contact, duplicate lookup, search and the deprecated list, tags, followers, campaigns,
//! workflows and the two bulk operations.
//!
//! The gate has already checked the token, rate limit, `Version`, scope and the body's schema
//! before a handler here runs, so handlers only make the semantic checks: the location is the
//! token's, ids exist, business rules hold. Every change queues the matching webhook event.

mod crud;
mod input;
mod list;
mod relations;
mod search;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::error::GhlError;
use super::state::{Location, MatchField, World};

/// The routes of this family, each on exactly the path of the operations table (`ops.rs`) or its
/// v3 spelling.
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route(
            "/contacts/",
            get(list::get_contacts).post(crud::create_contact),
        )
        .route(
            "/contacts",
            get(list::get_contacts).post(crud::create_contact),
        )
        .route("/contacts/search", post(search::search_contacts))
        .route(
            "/contacts/search/duplicate",
            get(crud::get_duplicate_contact),
        )
        .route("/contacts/upsert", post(crud::upsert_contact))
        .route(
            "/contacts/{contactId}",
            get(crud::get_contact)
                .put(crud::update_contact)
                .delete(crud::delete_contact),
        )
        .route(
            "/contacts/business/{businessId}",
            get(list::get_contacts_by_business),
        )
        .route("/contacts/bulk/business", post(relations::bulk_business))
        .route(
            "/contacts/bulk/tags/update/{type}",
            post(relations::bulk_tags),
        )
        .route(
            "/contacts/{contactId}/tags",
            post(relations::add_tags).delete(relations::remove_tags),
        )
        .route(
            "/contacts/{contactId}/followers",
            post(relations::add_followers).delete(relations::remove_followers),
        )
        // Literal `removeAll` wins over `{campaignId}`: the router prefers static segments.
        .route(
            "/contacts/{contactId}/campaigns/removeAll",
            delete(relations::remove_from_every_campaign),
        )
        // The v3 spec's spelling of the same operation (`ops::V3_PATHS`); the gate serves it
        // only to `Version: v3` requests.
        .route(
            "/contacts/{contactId}/campaigns/remove-all",
            delete(relations::remove_from_every_campaign),
        )
        .route(
            "/contacts/{contactId}/campaigns/{campaignId}",
            post(relations::add_to_campaign).delete(relations::remove_from_campaign),
        )
        .route(
            "/contacts/{contactId}/workflow/{workflowId}",
            post(relations::add_to_workflow).delete(relations::remove_from_workflow),
        )
}

/// What a handler of this family answers.
type Answer = Result<Response, ContactsError>;

/// An error answer of this family: a plain API error, or the duplicate refusal whose body carries
/// a `meta` object the common error shapes do not have.
#[derive(Debug)]
enum ContactsError {
    /// Any of the common error answers.
    Api(GhlError),
    /// 400: the location does not allow duplicates and `matching_field` matches `contact_id`.
    Duplicate {
        contact_id: String,
        matching_field: MatchField,
    },
}

impl From<GhlError> for ContactsError {
    fn from(error: GhlError) -> Self {
        ContactsError::Api(error)
    }
}

impl IntoResponse for ContactsError {
    fn into_response(self) -> Response {
        match self {
            ContactsError::Api(error) => error.into_response(),
            // The shape the real service answers, as reported publicly; `statusCode` and
            // `message` are what clients key on.
            ContactsError::Duplicate {
                contact_id,
                matching_field,
            } => {
                let body = json!({
                    "statusCode": 400,
                    "message": "This location does not allow duplicated contacts.",
                    "meta": {"contactId": contact_id, "matchingField": match_field_name(matching_field)},
                });
                (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
            }
        }
    }
}

/// The name GHL uses for a duplicate-matching field (`email`, `phone`).
fn match_field_name(field: MatchField) -> &'static str {
    match field {
        MatchField::Email => "email",
        MatchField::Phone => "phone",
    }
}

/// Serializes `body` once, straight into the response bytes.
fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "Serializing a contacts answer failed.");
            GhlError::Internal.into_response()
        }
    }
}

/// Runs `work` — a scan of a location, CPU work that can take a good fraction of a second with a
/// million contacts — on the blocking pool, so the async workers keep serving other requests.
async fn blocking(work: impl FnOnce() -> Answer + Send + 'static) -> Answer {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, "A contacts scan task failed.");
            Err(GhlError::Internal.into())
        })
}

/// The caller's own location: the one its token is for.
fn own_location(world: &World, caller: &Caller) -> Result<Arc<RwLock<Location>>, GhlError> {
    world.location(caller.location_id()?)
}

/// The location named in a body or query, after checking it is the token's (403 otherwise).
fn named_location(
    world: &World,
    caller: &Caller,
    location_id: &str,
) -> Result<Arc<RwLock<Location>>, GhlError> {
    caller.check_location(location_id)?;
    world.location(location_id)
}

/// A `traceId` in the UUID shape GHL's answers carry.
fn trace_id(world: &World) -> String {
    let mut rng = world.rng.lock();
    let hex = |rng: &mut fastrand::Rng, n: usize| -> String {
        (0..n)
            .map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0'))
            .collect()
    };
    format!(
        "{}-{}-4{}-{}{}-{}",
        hex(&mut rng, 8),
        hex(&mut rng, 4),
        hex(&mut rng, 3),
        ['8', '9', 'a', 'b'][rng.usize(..4)],
        hex(&mut rng, 3),
        hex(&mut rng, 12)
    )
}

/// Webhook events gathered while a location lock is held, queued once it is released so the
/// outbox lock is never taken inside a location lock.
#[derive(Default)]
struct Events {
    pending: Vec<(&'static str, Value)>,
}

impl Events {
    /// Adds an event of `event_type` with `payload`.
    fn push(&mut self, event_type: &'static str, payload: Value) {
        self.pending.push((event_type, payload));
    }

    /// Queues every gathered event for `location_id`.
    fn emit(self, world: &World, location_id: &str) {
        for (event_type, payload) in self.pending {
            world.webhooks.emit(event_type, location_id, payload);
        }
    }
}
