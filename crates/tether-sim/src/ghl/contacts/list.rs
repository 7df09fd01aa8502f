//! The two plain lists: the deprecated `GET /contacts/` (cursor by `startAfter` + `startAfterId`)
//! and `GET /contacts/business/{businessId}` (offset by `skip` / `limit`).

use std::ops::Bound;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::view::SearchView;
use super::{Answer, blocking, json_response, named_location};
use crate::ghl::auth::Caller;
use crate::ghl::error::GhlError;
use crate::ghl::extract::GhlQuery;
use crate::ghl::model::Contact;
use crate::ghl::state::Location;
use crate::ghl::state::World;

/// Default and largest `limit` of the deprecated list (spec: default 20; docs: max 100).
const LIST_DEFAULT_LIMIT: usize = 20;
const LIST_MAX_LIMIT: usize = 100;
/// Default `limit` of the by-business list (spec: "25"); its maximum follows the v3 spec's 100.
const BUSINESS_DEFAULT_LIMIT: usize = 25;
const BUSINESS_MAX_LIMIT: usize = 100;

/// Query of `get-contacts`; numbers arrive as strings and are checked here to name the field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListQuery {
    location_id: Option<String>,
    limit: Option<String>,
    query: Option<String>,
    start_after_id: Option<String>,
    start_after: Option<String>,
}

/// `{contacts, count, meta}`.
#[derive(Serialize)]
struct ListAnswer<'a> {
    contacts: Vec<SearchView<'a>>,
    count: usize,
    meta: ListMeta,
}

/// The pagination meta real answers carry (`ContactsMetaSchema`, which the spec defines but never
/// references). When there is no next page, the cursor fields and `nextPage` are `null`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    total: usize,
    next_page_url: Option<String>,
    start_after_id: Option<String>,
    start_after: Option<i64>,
    current_page: usize,
    next_page: Option<usize>,
    prev_page: Option<usize>,
}

/// A required `locationId` query parameter.
fn required_location(location_id: Option<String>) -> Result<String, GhlError> {
    location_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| GhlError::unprocessable("locationId should not be empty"))
}

/// A `limit`-like number parameter within `1..=max`, or its default.
fn bounded(
    name: &str,
    value: Option<&str>,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, GhlError> {
    let Some(value) = value.filter(|value| !value.is_empty()) else {
        return Ok(default);
    };
    let number: f64 = value
        .parse()
        .map_err(|_| GhlError::unprocessable(format!("{name} must be a number")))?;
    if number.fract() != 0.0 || number < min as f64 {
        return Err(GhlError::unprocessable(format!(
            "{name} must be an integer not less than {min}"
        )));
    }
    if number > max as f64 {
        return Err(GhlError::unprocessable(format!(
            "{name} must not be greater than {max}"
        )));
    }
    Ok(number as usize)
}

/// The free-text `query` of the lists: a case-insensitive substring of the name, e-mail, phone or
/// company.
fn query_matches(contact: &Contact, query: &str) -> bool {
    let name_hit = contact
        .full_name()
        .is_some_and(|name| name.to_lowercase().contains(query));
    name_hit
        || [&contact.email, &contact.phone, &contact.company_name]
            .into_iter()
            .any(|field| {
                field
                    .as_deref()
                    .is_some_and(|text| text.to_lowercase().contains(query))
            })
}

/// `GET /contacts/` (`get-contacts`, deprecated) → 200 `{contacts, count, meta}`.
///
/// Ordered by `(dateAdded, id)` ascending, oldest first (the location's index order; a choice,
/// the docs do not say). The cursor is `startAfter` (epoch ms) + `startAfterId`, both taken from
/// the previous answer's `meta`, and a page starts strictly after it. `startAfter` alone starts
/// after every contact added at or before that instant; `startAfterId` alone starts after that
/// contact. `count` is the number of matching contacts, like `meta.total` (a choice: the spec's
/// example does not tell the page size from the total).
pub(super) async fn get_contacts(
    State(world): State<Arc<World>>,
    caller: Caller,
    headers: HeaderMap,
    GhlQuery(params): GhlQuery<ListQuery>,
) -> Answer {
    let location_id = required_location(params.location_id)?;
    let limit = bounded(
        "limit",
        params.limit.as_deref(),
        LIST_DEFAULT_LIMIT,
        1,
        LIST_MAX_LIMIT,
    )?;
    let start_after =
        match params
            .start_after
            .as_deref()
            .filter(|value| !value.is_empty())
        {
            None => None,
            Some(value) => Some(value.parse::<f64>().map(|millis| millis as i64).map_err(
                |_| GhlError::unprocessable("startAfter must be a number (epoch milliseconds)"),
            )?),
        };
    let query = params
        .query
        .as_deref()
        .map(|query| query.trim().to_lowercase())
        .filter(|query| !query.is_empty());
    let location = named_location(&world, &caller, &location_id)?;
    blocking(move || {
        let location = location.read();
        let start_after_id = params.start_after_id.filter(|id| !id.is_empty());
        let lower = match (start_after, &start_after_id) {
            (Some(millis), Some(id)) => Bound::Excluded((millis, id.clone())),
            (Some(millis), None) => Bound::Excluded((millis, char::MAX.to_string())),
            (None, Some(id)) => {
                let contact = location.contacts.get(id).ok_or_else(|| {
                    GhlError::unprocessable(format!(
                        "startAfterId {id} is not a contact of this location"
                    ))
                })?;
                Bound::Excluded((contact.date_added.timestamp_millis(), id.clone()))
            }
            (None, None) => Bound::Unbounded,
        };
        let is_match = |id: &String| {
            location.contacts.get(id).filter(|contact| {
                query
                    .as_deref()
                    .is_none_or(|query| query_matches(contact, query))
            })
        };
        let page: Vec<&Contact> = location
            .by_date_added
            .range((lower.clone(), Bound::Unbounded))
            .filter_map(|(_, id)| is_match(id))
            .take(limit + 1)
            .map(|contact| &**contact)
            .collect();
        let (total, before) = match &query {
            None => {
                let before = match &lower {
                    Bound::Unbounded => 0,
                    _ => location
                        .by_date_added
                        .range((Bound::Unbounded, flip(&lower)))
                        .count(),
                };
                (location.contacts.len(), before)
            }
            Some(_) => {
                let before = match &lower {
                    Bound::Unbounded => 0,
                    _ => location
                        .by_date_added
                        .range((Bound::Unbounded, flip(&lower)))
                        .filter(|(_, id)| is_match(id).is_some())
                        .count(),
                };
                let total = location
                    .contacts
                    .values()
                    .filter(|contact| {
                        query
                            .as_deref()
                            .is_some_and(|query| query_matches(contact, query))
                    })
                    .count();
                (total, before)
            }
        };
        let has_next = page.len() > limit;
        let page = &page[..page.len().min(limit)];
        let current_page = before / limit + 1;
        let last = page.last().filter(|_| has_next);
        let next_page_url = last.map(|contact| {
            let host = headers
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .unwrap_or("localhost");
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            url.append_pair("locationId", &location_id);
            url.append_pair("limit", &limit.to_string());
            if let Some(query) = &params.query {
                url.append_pair("query", query);
            }
            url.append_pair(
                "startAfter",
                &contact.date_added.timestamp_millis().to_string(),
            );
            url.append_pair("startAfterId", &contact.id);
            format!("http://{host}/contacts/?{}", url.finish())
        });
        let meta = ListMeta {
            total,
            next_page_url,
            start_after_id: last.map(|contact| contact.id.clone()),
            start_after: last.map(|contact| contact.date_added.timestamp_millis()),
            current_page,
            next_page: has_next.then_some(current_page + 1),
            prev_page: (current_page > 1).then(|| current_page - 1),
        };
        let contacts = page
            .iter()
            .map(|contact| SearchView {
                contact,
                search_after: None,
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &ListAnswer {
                contacts,
                count: total,
                meta,
            },
        ))
    })
    .await
}

/// The bound that ends where `bound` starts: everything up to and including the cursor.
fn flip(bound: &Bound<(i64, String)>) -> Bound<(i64, String)> {
    match bound {
        Bound::Excluded(at) => Bound::Included(at.clone()),
        Bound::Included(at) => Bound::Excluded(at.clone()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Query of `get-contacts-by-businessId`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BusinessQuery {
    location_id: Option<String>,
    limit: Option<String>,
    skip: Option<String>,
    query: Option<String>,
}

/// `{contacts, count}`.
#[derive(Serialize)]
struct BusinessAnswer<'a> {
    contacts: Vec<SearchView<'a>>,
    count: usize,
}

/// The contacts of a business, by lowercased full name then id (the v3 spec's `startAfter`
/// cursor of this operation is a (name, id) pair, which implies that order).
fn business_members<'a>(
    location: &'a Location,
    business_id: &str,
    query: Option<&str>,
) -> Vec<&'a Contact> {
    let mut members: Vec<(Option<String>, &Contact)> = location
        .contacts
        .values()
        .filter(|contact| contact.business_id.as_deref() == Some(business_id))
        .filter(|contact| query.is_none_or(|query| query_matches(contact, query)))
        .map(|contact| {
            (
                contact.full_name().map(|name| name.to_lowercase()),
                &**contact,
            )
        })
        .collect();
    // Contacts without a name go last.
    members.sort_by(|(a_name, a), (b_name, b)| {
        (a_name.is_none(), a_name, &a.id).cmp(&(b_name.is_none(), b_name, &b.id))
    });
    members.into_iter().map(|(_, contact)| contact).collect()
}

/// `GET /contacts/business/{businessId}` (`get-contacts-by-businessId`) → 200 `{contacts, count}`,
/// `count` being the number of the business's (matching) contacts. An unknown business has none.
pub(super) async fn get_contacts_by_business(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(business_id): Path<String>,
    GhlQuery(params): GhlQuery<BusinessQuery>,
) -> Answer {
    let location_id = required_location(params.location_id)?;
    let limit = bounded(
        "limit",
        params.limit.as_deref(),
        BUSINESS_DEFAULT_LIMIT,
        1,
        BUSINESS_MAX_LIMIT,
    )?;
    let skip = bounded("skip", params.skip.as_deref(), 0, 0, usize::MAX)?;
    let query = params
        .query
        .as_deref()
        .map(|query| query.trim().to_lowercase())
        .filter(|query| !query.is_empty());
    let location = named_location(&world, &caller, &location_id)?;
    blocking(move || {
        let location = location.read();
        let members = business_members(&location, &business_id, query.as_deref());
        let count = members.len();
        let contacts = members
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(|contact| SearchView {
                contact,
                search_after: None,
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &BusinessAnswer { contacts, count },
        ))
    })
    .await
}
