//! What hangs off a contact: tags, followers, campaigns and workflows, one contact at a time,
//! and the two bulk operations (tags, business).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::DateTime;
use serde::Deserialize;
use serde_json::json;

use super::input::normalize_tags;
use super::view::webhook_payload;
use super::{Answer, Events, json_response, named_location, own_location};
use crate::ghl::auth::Caller;
use crate::ghl::error::GhlError;
use crate::ghl::extract::GhlJson;
use crate::ghl::model::Contact;
use crate::ghl::state::{Location, World};

/// Applies `change` to a contact of the caller's location (404 when it has none with that id).
/// `change` tells whether it changed anything and what to answer; a change stamps `dateUpdated`
/// and, when `event` is given, queues that webhook event with the contact's new state.
fn change_contact<T>(
    world: &World,
    caller: &Caller,
    contact_id: &str,
    change: impl FnOnce(&mut Contact) -> Result<(bool, T), GhlError>,
    event: Option<&'static str>,
) -> Result<T, GhlError> {
    let location = own_location(world, caller)?;
    let mut events = Events::default();
    let (location_id, result) = {
        let mut location = location.write();
        let now = world.now();
        let (changed, result) = location.update_contact(contact_id, |contact| {
            let (changed, result) = change(contact)?;
            if changed {
                contact.date_updated = now;
            }
            Ok((changed, result))
        })?;
        if let (true, Some(event)) = (changed, event) {
            events.push(event, webhook_payload(location.contact(contact_id)?, false));
        }
        (location.id.clone(), result)
    };
    events.emit(world, &location_id);
    Ok(result)
}

/// `{tags}` of add-tags / remove-tags.
#[derive(Debug, Deserialize)]
pub(super) struct TagsBody {
    tags: Vec<String>,
}

/// `POST /contacts/{contactId}/tags` (`add-tags`) → 201 `{tags}`: every tag of the contact after
/// the change. Sends `ContactTagUpdate` when a tag was new.
pub(super) async fn add_tags(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
    GhlJson(body): GhlJson<TagsBody>,
) -> Answer {
    let added = normalize_tags(body.tags.iter().map(String::as_str));
    let tags = change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| {
            let before = contact.tags.len();
            for tag in added {
                if !contact.tags.contains(&tag) {
                    contact.tags.push(tag);
                }
            }
            Ok((contact.tags.len() != before, contact.tags.clone()))
        },
        Some("ContactTagUpdate"),
    )?;
    Ok(json_response(StatusCode::CREATED, &json!({ "tags": tags })))
}

/// `DELETE /contacts/{contactId}/tags` (`remove-tags`) → 200 `{tags}`: the tags left.
pub(super) async fn remove_tags(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
    GhlJson(body): GhlJson<TagsBody>,
) -> Answer {
    let removed = normalize_tags(body.tags.iter().map(String::as_str));
    let tags = change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| {
            let before = contact.tags.len();
            contact.tags.retain(|tag| !removed.contains(tag));
            Ok((contact.tags.len() != before, contact.tags.clone()))
        },
        Some("ContactTagUpdate"),
    )?;
    Ok(json_response(StatusCode::OK, &json!({ "tags": tags })))
}

/// `{followers}` of add / remove followers.
#[derive(Debug, Deserialize)]
pub(super) struct FollowersBody {
    followers: Vec<String>,
}

/// `POST /contacts/{contactId}/followers` (`add-followers-contact`) → 201 `{followers, followersAdded}`.
///
/// Follower ids are not checked against the location's users (a choice: the spec does not say
/// what an unknown user id does). Followers are not part of any webhook payload, so no event.
pub(super) async fn add_followers(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
    GhlJson(body): GhlJson<FollowersBody>,
) -> Answer {
    let (followers, added) = change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| {
            let mut added = Vec::new();
            for follower in body
                .followers
                .into_iter()
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty())
            {
                if !contact.followers.contains(&follower) {
                    contact.followers.push(follower.clone());
                    added.push(follower);
                }
            }
            Ok((!added.is_empty(), (contact.followers.clone(), added)))
        },
        None,
    )?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "followers": followers, "followersAdded": added }),
    ))
}

/// `DELETE /contacts/{contactId}/followers` (`remove-followers-contact`) → 200 `{followers, followersRemoved}`.
pub(super) async fn remove_followers(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
    GhlJson(body): GhlJson<FollowersBody>,
) -> Answer {
    let (followers, removed) = change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| {
            let removed: Vec<String> = contact
                .followers
                .iter()
                .filter(|follower| body.followers.contains(follower))
                .cloned()
                .collect();
            contact
                .followers
                .retain(|follower| !removed.contains(follower));
            Ok((!removed.is_empty(), (contact.followers.clone(), removed)))
        },
        None,
    )?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "followers": followers, "followersRemoved": removed }),
    ))
}

/// The 400 for a campaign id the location does not have (the spec declares 400 `BadRequestDTO`
/// for these operations and no 404; the contact's own 404 stays a 404).
fn campaign_exists(location: &Location, campaign_id: &str) -> Result<(), GhlError> {
    if location.campaigns.iter().any(|id| id == campaign_id) {
        Ok(())
    } else {
        Err(GhlError::BadRequest(format!(
            "Campaign with id {campaign_id} not found"
        )))
    }
}

/// The 400 for a workflow id the location does not have.
fn workflow_exists(location: &Location, workflow_id: &str) -> Result<(), GhlError> {
    if location.workflows.iter().any(|id| id == workflow_id) {
        Ok(())
    } else {
        Err(GhlError::BadRequest(format!(
            "Workflow with id {workflow_id} not found"
        )))
    }
}

/// Checks the contact first (404), then `check` on the location.
fn check_location(
    world: &World,
    caller: &Caller,
    contact_id: &str,
    check: impl FnOnce(&Location) -> Result<(), GhlError>,
) -> Result<(), GhlError> {
    let location = own_location(world, caller)?;
    let location = location.read();
    location.contact(contact_id)?;
    check(&location)
}

fn succeded(status: StatusCode) -> Answer {
    Ok(json_response(status, &json!({ "succeded": true })))
}

/// `POST /contacts/{contactId}/campaigns/{campaignId}` (`add-contact-to-campaign`) → 201 `{succeded}`.
pub(super) async fn add_to_campaign(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, campaign_id)): Path<(String, String)>,
) -> Answer {
    check_location(&world, &caller, &contact_id, |location| {
        campaign_exists(location, &campaign_id)
    })?;
    change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| Ok((contact.campaigns.insert(campaign_id), ())),
        None,
    )?;
    succeded(StatusCode::CREATED)
}

/// `DELETE /contacts/{contactId}/campaigns/{campaignId}` (`remove-contact-from-campaign`) → 200
/// `{succeded}`; removing a contact that is not in the campaign succeeds too (idempotent).
pub(super) async fn remove_from_campaign(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, campaign_id)): Path<(String, String)>,
) -> Answer {
    check_location(&world, &caller, &contact_id, |location| {
        campaign_exists(location, &campaign_id)
    })?;
    change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| Ok((contact.campaigns.remove(&campaign_id), ())),
        None,
    )?;
    succeded(StatusCode::OK)
}

/// `DELETE /contacts/{contactId}/campaigns/removeAll` (`remove-contact-from-every-campaign`) → 200 `{succeded}`.
pub(super) async fn remove_from_every_campaign(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
) -> Answer {
    change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| {
            let changed = !contact.campaigns.is_empty();
            contact.campaigns.clear();
            Ok((changed, ()))
        },
        None,
    )?;
    succeded(StatusCode::OK)
}

/// `{eventStartTime?}` of the workflow operations.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WorkflowBody {
    event_start_time: Option<String>,
}

/// The `eventStartTime`, which must be an ISO 8601 time with an offset when given.
fn event_start_time(body: &WorkflowBody) -> Result<Option<String>, GhlError> {
    match body
        .event_start_time
        .as_deref()
        .filter(|time| !time.is_empty())
    {
        None => Ok(None),
        Some(time) => DateTime::parse_from_rfc3339(time)
            .map(|_| Some(time.to_owned()))
            .map_err(|_| {
                GhlError::unprocessable(
                    "eventStartTime must be a valid ISO 8601 date string with an offset",
                )
            }),
    }
}

/// `POST /contacts/{contactId}/workflow/{workflowId}` (`add-contact-to-workflow`) → 200 `{succeded}`.
pub(super) async fn add_to_workflow(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, workflow_id)): Path<(String, String)>,
    GhlJson(body): GhlJson<WorkflowBody>,
) -> Answer {
    let start = event_start_time(&body)?;
    check_location(&world, &caller, &contact_id, |location| {
        workflow_exists(location, &workflow_id)
    })?;
    change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| {
            Ok((
                contact.workflows.insert(workflow_id, start.clone()) != Some(start),
                (),
            ))
        },
        None,
    )?;
    succeded(StatusCode::OK)
}

/// `DELETE /contacts/{contactId}/workflow/{workflowId}` (`delete-contact-from-workflow`) → 200
/// `{succeded}`; idempotent like the campaign removal.
pub(super) async fn remove_from_workflow(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path((contact_id, workflow_id)): Path<(String, String)>,
    GhlJson(body): GhlJson<WorkflowBody>,
) -> Answer {
    event_start_time(&body)?;
    check_location(&world, &caller, &contact_id, |location| {
        workflow_exists(location, &workflow_id)
    })?;
    change_contact(
        &world,
        &caller,
        &contact_id,
        |contact| Ok((contact.workflows.remove(&workflow_id).is_some(), ())),
        None,
    )?;
    succeded(StatusCode::OK)
}

/// Body of `create-association` (bulk tags).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BulkTagsBody {
    contacts: Vec<String>,
    tags: Vec<String>,
    location_id: String,
    remove_all_tags: Option<bool>,
}

/// Whether `id` has the shape of a GHL (Firestore) id: 20 alphanumeric characters.
fn is_firebase_id(id: &str) -> bool {
    id.len() == 20 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `POST /contacts/bulk/tags/update/{type}` (`create-association`, type `add` | `remove`) → 201
/// `{succeded, errorCount, responses}`.
///
/// Each contact gets its own entry in `responses` (the spec's example: success entries carry
/// `oldTags`, `tagsAdded`, `tagsRemoved`; error entries a message). `succeded` is true when the
/// request was carried out, even if some contacts failed: `errorCount` tells (a choice; the spec
/// does not relate the two). Contacts whose tags changed get `ContactTagUpdate`.
pub(super) async fn bulk_tags(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(kind): Path<String>,
    GhlJson(body): GhlJson<BulkTagsBody>,
) -> Answer {
    let adding = match kind.as_str() {
        "add" => true,
        "remove" => false,
        _ => {
            return Err(GhlError::unprocessable(
                "type must be one of the following values: add, remove",
            )
            .into());
        }
    };
    let remove_all = body.remove_all_tags.unwrap_or(false);
    if adding && remove_all {
        return Err(
            GhlError::unprocessable("removeAllTags can only be used with the remove type").into(),
        );
    }
    let location = named_location(&world, &caller, &body.location_id)?;
    let tags = normalize_tags(body.tags.iter().map(String::as_str));
    let now = world.now();
    let mut events = Events::default();
    let mut responses = Vec::with_capacity(body.contacts.len());
    let mut error_count = 0;
    {
        let mut location = location.write();
        for contact_id in &body.contacts {
            if !location.contacts.contains_key(contact_id) {
                error_count += 1;
                let message = if is_firebase_id(contact_id) {
                    if other_location_has(&world, &location.id, contact_id) {
                        "contact does not belong to location"
                    } else {
                        "contact not found"
                    }
                } else {
                    "contact id is not a valid firebase id"
                };
                responses
                    .push(json!({"contactId": contact_id, "message": message, "type": "error"}));
                continue;
            }
            let (old_tags, added, removed) = location.update_contact(contact_id, |contact| {
                let old_tags = contact.tags.clone();
                if adding {
                    for tag in &tags {
                        if !contact.tags.contains(tag) {
                            contact.tags.push(tag.clone());
                        }
                    }
                } else if remove_all {
                    contact.tags.clear();
                } else {
                    contact.tags.retain(|tag| !tags.contains(tag));
                }
                let added: Vec<String> = contact
                    .tags
                    .iter()
                    .filter(|tag| !old_tags.contains(tag))
                    .cloned()
                    .collect();
                let removed: Vec<String> = old_tags
                    .iter()
                    .filter(|tag| !contact.tags.contains(tag))
                    .cloned()
                    .collect();
                if !added.is_empty() || !removed.is_empty() {
                    contact.date_updated = now;
                }
                Ok((old_tags, added, removed))
            })?;
            if !added.is_empty() || !removed.is_empty() {
                events.push(
                    "ContactTagUpdate",
                    webhook_payload(location.contact(contact_id)?, false),
                );
            }
            responses.push(json!({
                "contactId": contact_id,
                "message": "Tags updated",
                "type": "success",
                "oldTags": old_tags,
                "tagsAdded": added,
                "tagsRemoved": removed,
            }));
        }
    }
    events.emit(&world, &body.location_id);
    let answer = json!({"succeded": true, "errorCount": error_count, "responses": responses});
    Ok(json_response(StatusCode::CREATED, &answer))
}

/// Whether a location other than `own` has a contact `contact_id`.
fn other_location_has(world: &World, own: &str, contact_id: &str) -> bool {
    let locations: Vec<_> = world
        .locations
        .read()
        .iter()
        .filter(|(id, _)| id.as_str() != own)
        .map(|(_, location)| location.clone())
        .collect();
    locations.iter().any(|location| {
        location
            .try_read()
            .is_some_and(|location| location.contacts.contains_key(contact_id))
    })
}

/// Body of `add-remove-contact-from-business`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BulkBusinessBody {
    location_id: String,
    ids: Vec<String>,
    business_id: Option<String>,
}

/// `POST /contacts/bulk/business` (`add-remove-contact-from-business`) → 200 `{success, ids}`:
/// attaches the contacts to the business, or detaches them with `businessId: null`. `ids` lists
/// the contacts that were updated; ids the location does not have are skipped. An unknown
/// business answers 400 (the spec declares only 422 here; 400 is what other operations use for
/// an unknown referenced record). Each updated contact gets `ContactUpdate`.
pub(super) async fn bulk_business(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlJson(body): GhlJson<BulkBusinessBody>,
) -> Answer {
    let location = named_location(&world, &caller, &body.location_id)?;
    let now = world.now();
    let mut events = Events::default();
    let mut updated = Vec::new();
    {
        let mut location = location.write();
        if let Some(business_id) = &body.business_id
            && !location.businesses.contains_key(business_id)
        {
            return Err(
                GhlError::BadRequest(format!("Business with id {business_id} not found")).into(),
            );
        }
        for contact_id in &body.ids {
            if !location.contacts.contains_key(contact_id) || updated.contains(contact_id) {
                continue;
            }
            location.update_contact(contact_id, |contact| {
                contact.business_id.clone_from(&body.business_id);
                contact.date_updated = now;
                Ok(())
            })?;
            events.push(
                "ContactUpdate",
                webhook_payload(location.contact(contact_id)?, false),
            );
            updated.push(contact_id.clone());
        }
    }
    events.emit(&world, &body.location_id);
    Ok(json_response(
        StatusCode::OK,
        &json!({"success": true, "ids": updated}),
    ))
}
