//! Create, get, update, delete and upsert a contact, and the duplicate lookup; with the
//! location's duplicate rules (README §4.2).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::input::{ContactInput, ContactPatch, normalize_phone};
use super::view::{FullView, webhook_payload};
use super::{Answer, ContactsError, Events, json_response, named_location, own_location, trace_id};
use crate::ghl::auth::Caller;
use crate::ghl::error::GhlError;
use crate::ghl::extract::{GhlJson, GhlQuery};
use crate::ghl::model::Contact;
use crate::ghl::state::{Location, MatchField, World, contact_not_found};

/// `{contact}`.
#[derive(Serialize)]
struct ContactEnvelope<'a> {
    contact: FullView<'a>,
}

/// `{succeded, contact}` (sic: one "e", the v2 spelling).
#[derive(Serialize)]
struct UpdatedEnvelope<'a> {
    succeded: bool,
    contact: FullView<'a>,
}

/// `{new, contact, traceId}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpsertedEnvelope<'a> {
    new: bool,
    contact: FullView<'a>,
    trace_id: String,
}

/// `{contact: {...} | null}`.
#[derive(Serialize)]
struct DuplicateEnvelope<'a> {
    contact: Option<FullView<'a>>,
}

/// Of several contacts sharing an e-mail or phone (possible when duplicates are allowed), the
/// oldest one is the match, as it is the one the location has known longest.
fn oldest<'a>(location: &'a Location, ids: &'a [String]) -> Option<&'a Contact> {
    ids.iter()
        .filter_map(|id| location.contacts.get(id).map(|contact| &**contact))
        .min_by(|a, b| (a.date_added, &a.id).cmp(&(b.date_added, &b.id)))
}

/// The contact `email` or `phone` identify, by the location's priority order, other than `except`.
fn find_match(
    location: &Location,
    email: Option<&str>,
    phone: Option<&str>,
    except: Option<&str>,
) -> Option<(String, MatchField)> {
    for field in &location.duplicate_priority {
        let ids = match (field, email, phone) {
            (MatchField::Email, Some(email), _) => location.find_by_email(email),
            (MatchField::Phone, _, Some(phone)) => location.find_by_phone(phone),
            _ => continue,
        };
        let others: Vec<String> = ids
            .iter()
            .filter(|id| Some(id.as_str()) != except)
            .cloned()
            .collect();
        if let Some(contact) = oldest(location, &others) {
            return Some((contact.id.clone(), *field));
        }
    }
    None
}

/// The duplicate refusal for a create or an update, when the location does not allow duplicates
/// and the patch sets an identifying field another contact already has.
fn refuse_duplicate(
    location: &Location,
    patch: &ContactPatch,
    except: Option<&str>,
) -> Result<(), ContactsError> {
    if location.allow_duplicates {
        return Ok(());
    }
    match find_match(location, patch.email_value(), patch.phone_value(), except) {
        Some((contact_id, matching_field)) => Err(ContactsError::Duplicate {
            contact_id,
            matching_field,
        }),
        None => Ok(()),
    }
}

/// Applies `patch` to a stored contact, stamps `dateUpdated` and gathers the events the change
/// causes: always `ContactUpdate`, plus `ContactTagUpdate` / `ContactDndUpdate` when tags / DND changed.
fn update_stored(
    world: &World,
    location: &mut Location,
    contact_id: &str,
    patch: &ContactPatch,
    events: &mut Events,
) -> Result<(), GhlError> {
    let now = world.now();
    let changes = location.update_contact(contact_id, |contact| {
        let changes = patch.apply(contact);
        contact.date_updated = now;
        Ok(changes)
    })?;
    let contact = location.contact(contact_id)?;
    events.push("ContactUpdate", webhook_payload(contact, false));
    if changes.tags {
        events.push("ContactTagUpdate", webhook_payload(contact, false));
    }
    if changes.dnd {
        events.push("ContactDndUpdate", webhook_payload(contact, true));
    }
    Ok(())
}

/// Creates and stores a contact from `patch`; returns its id.
fn create_stored(
    world: &World,
    location: &mut Location,
    patch: &ContactPatch,
    events: &mut Events,
) -> String {
    let now = world.now();
    let mut contact = Contact {
        id: world.new_id(),
        location_id: location.id.clone(),
        date_added: now,
        date_updated: now,
        ..Contact::default()
    };
    patch.apply(&mut contact);
    // Tags or DND given at creation are part of the new record, not a change of it: only
    // `ContactCreate` is sent.
    events.push("ContactCreate", webhook_payload(&contact, false));
    let id = contact.id.clone();
    location.insert_contact(contact);
    id
}

/// The `locationId` of a create / upsert body (the gate has checked it is present).
fn body_location(input: &ContactInput) -> Result<String, GhlError> {
    input
        .location_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| GhlError::unprocessable("locationId should not be empty"))
}

/// `POST /contacts/` (`create-contact`) → 201 `{contact}`.
pub(super) async fn create_contact(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlJson(input): GhlJson<ContactInput>,
) -> Answer {
    let location_id = body_location(&input)?;
    let location = named_location(&world, &caller, &location_id)?;
    let mut patch = input.into_patch()?;
    let mut events = Events::default();
    let response = {
        let mut location = location.write();
        patch.resolve_custom_field_keys(&location.custom_fields);
        refuse_duplicate(&location, &patch, None)?;
        let contact_id = create_stored(&world, &mut location, &patch, &mut events);
        let contact = location.contact(&contact_id)?;
        json_response(
            StatusCode::CREATED,
            &ContactEnvelope {
                contact: FullView(contact),
            },
        )
    };
    events.emit(&world, &location_id);
    Ok(response)
}

/// `GET /contacts/{contactId}` (`get-contact`) → 200 `{contact}`.
pub(super) async fn get_contact(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
) -> Answer {
    let location = own_location(&world, &caller)?;
    let location = location.read();
    let contact = location.contact(&contact_id)?;
    Ok(json_response(
        StatusCode::OK,
        &ContactEnvelope {
            contact: FullView(contact),
        },
    ))
}

/// `PUT /contacts/{contactId}` (`update-contact`) → 200 `{succeded, contact}`. Tags given replace
/// all tags; an e-mail or phone another contact has is refused when duplicates are not allowed.
pub(super) async fn update_contact(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
    GhlJson(input): GhlJson<ContactInput>,
) -> Answer {
    let location = own_location(&world, &caller)?;
    let mut patch = input.into_patch()?;
    let mut events = Events::default();
    let (location_id, response) = {
        let mut location = location.write();
        location.contact(&contact_id)?;
        patch.resolve_custom_field_keys(&location.custom_fields);
        refuse_duplicate(&location, &patch, Some(&contact_id))?;
        update_stored(&world, &mut location, &contact_id, &patch, &mut events)?;
        let contact = location.contact(&contact_id)?;
        (
            location.id.clone(),
            json_response(
                StatusCode::OK,
                &UpdatedEnvelope {
                    succeded: true,
                    contact: FullView(contact),
                },
            ),
        )
    };
    events.emit(&world, &location_id);
    Ok(response)
}

/// `DELETE /contacts/{contactId}` (`delete-contact`) → 200 `{succeded: true}`.
pub(super) async fn delete_contact(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
) -> Answer {
    let location = own_location(&world, &caller)?;
    let mut events = Events::default();
    let location_id = {
        let mut location = location.write();
        let contact = location
            .remove_contact(&contact_id)
            .ok_or_else(|| contact_not_found(&contact_id))?;
        events.push("ContactDelete", webhook_payload(&contact, false));
        location.id.clone()
    };
    events.emit(&world, &location_id);
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"succeded": true}),
    ))
}

/// `POST /contacts/upsert` (`upsert-contact`) → 200 `{new, contact, traceId}`.
///
/// Matching follows the location's duplicate priority (e-mail then phone by default): the first
/// field of that order that matches picks the contact to update. When the e-mail and the phone
/// match two different contacts, the first one is updated and the other field is ignored, so the
/// upsert never creates a duplicate. `createNewIfDuplicateAllowed` creates straight away only
/// when the location allows duplicates.
pub(super) async fn upsert_contact(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlJson(input): GhlJson<ContactInput>,
) -> Answer {
    let location_id = body_location(&input)?;
    let create_new = input.create_new_if_duplicate_allowed.unwrap_or(false);
    let location = named_location(&world, &caller, &location_id)?;
    let mut patch = input.into_patch()?;
    let mut events = Events::default();
    let trace_id = trace_id(&world);
    let response = {
        let mut location = location.write();
        patch.resolve_custom_field_keys(&location.custom_fields);
        let matched = if create_new && location.allow_duplicates {
            None
        } else {
            find_match(&location, patch.email_value(), patch.phone_value(), None)
        };
        let (is_new, contact_id) = match matched {
            Some((contact_id, _field)) => {
                // A value of the other identifying field that already belongs to someone else is
                // ignored when duplicates are not allowed, so the upsert never creates one.
                if !location.allow_duplicates {
                    let elsewhere = |ids: &[String]| !ids.is_empty() && !ids.contains(&contact_id);
                    if patch
                        .email_value()
                        .is_some_and(|email| elsewhere(location.find_by_email(email)))
                    {
                        patch.forget_email();
                    }
                    if patch
                        .phone_value()
                        .is_some_and(|phone| elsewhere(location.find_by_phone(phone)))
                    {
                        patch.forget_phone();
                    }
                }
                update_stored(&world, &mut location, &contact_id, &patch, &mut events)?;
                (false, contact_id)
            }
            None => (
                true,
                create_stored(&world, &mut location, &patch, &mut events),
            ),
        };
        let contact = location.contact(&contact_id)?;
        json_response(
            StatusCode::OK,
            &UpsertedEnvelope {
                new: is_new,
                contact: FullView(contact),
                trace_id,
            },
        )
    };
    events.emit(&world, &location_id);
    Ok(response)
}

/// Query of `get-duplicate-contact`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DuplicateQuery {
    location_id: Option<String>,
    number: Option<String>,
    email: Option<String>,
}

/// `GET /contacts/search/duplicate` (`get-duplicate-contact`) → 200 `{contact | null}`.
///
/// With duplicates disallowed the location's identifying fields are tried in its priority order;
/// with duplicates allowed e-mail is tried first, then phone (README §4.2). Neither `email` nor
/// `number` given finds nothing (a choice: the spec marks both optional and says nothing more).
pub(super) async fn get_duplicate_contact(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlQuery(query): GhlQuery<DuplicateQuery>,
) -> Answer {
    let location_id = query
        .location_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| GhlError::unprocessable("locationId should not be empty"))?;
    let location = named_location(&world, &caller, &location_id)?;
    let location = location.read();
    let email = query
        .email
        .as_deref()
        .map(str::trim)
        .filter(|email| !email.is_empty());
    let phone = query.number.as_deref().and_then(normalize_phone);
    let order: &[MatchField] = if location.allow_duplicates {
        &[MatchField::Email, MatchField::Phone]
    } else {
        &location.duplicate_priority
    };
    let found = order.iter().find_map(|field| match field {
        MatchField::Email => {
            email.and_then(|email| oldest(&location, location.find_by_email(email)))
        }
        MatchField::Phone => phone
            .as_deref()
            .and_then(|phone| oldest(&location, location.find_by_phone(phone))),
    });
    Ok(json_response(
        StatusCode::OK,
        &DuplicateEnvelope {
            contact: found.map(FullView),
        },
    ))
}
