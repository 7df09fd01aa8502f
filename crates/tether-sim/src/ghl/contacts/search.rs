//! `POST /contacts/search` (`search-contacts-advanced`): filters, free-text query, sort, and the
//! two ways of paging (README §4.1).
//!
//! The spec's body schema is empty, so this module validates the body itself, NestJS-style: one
//! 422 message per problem, each naming its field (`filters.1.filters.0.operator: ...`).
//!
//! Paging never drops nor repeats a record: the order is total (ties in the sort values are
//! broken by id) and `searchAfter` continues strictly after `[sort values..., id]`. A search is
//! one O(N) scan of the location that keeps references to the best matches only, in a heap
//! bounded by the page window, so nothing is cloned. Without filters or query and sorted by `dateAdded`, the
//! location's `(dateAdded, id)` index serves a page in O(log N + page) — so walking a million
//! contacts with `searchAfter` stays cheap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Bound;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::input::normalize_phone;
use super::view::SearchView;
use super::{Answer, blocking, json_response, named_location, trace_id};
use crate::ghl::auth::Caller;
use crate::ghl::error::GhlError;
use crate::ghl::extract::GhlJson;
use crate::ghl::model::Contact;
use crate::ghl::state::{Location, World};

/// Largest `pageLimit` (README §4.1).
pub const MAX_PAGE_LIMIT: u64 = 500;
/// Deepest record `page` paging reaches; further on only `searchAfter` does.
pub const MAX_PAGE_WINDOW: u64 = 10_000;
/// Longest free-text `query` and filter value.
pub const MAX_TEXT_LEN: usize = 75;

/// The body properties the search accepts.
const BODY_FIELDS: &[&str] = &[
    "locationId",
    "page",
    "pageLimit",
    "searchAfter",
    "filters",
    "sort",
    "query",
];

/// `POST /contacts/search` → 200 `{contacts, total, traceId}`.
pub(super) async fn search_contacts(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlJson(body): GhlJson<Value>,
) -> Answer {
    let request = SearchRequest::parse(&body).map_err(GhlError::Unprocessable)?;
    let location = named_location(&world, &caller, &request.location_id)?;
    let trace_id = trace_id(&world);
    blocking(move || {
        let location = location.read();
        let (total, page) = request.run(&location);
        let contacts: Vec<SearchView<'_>> = page
            .into_iter()
            .map(|contact| SearchView {
                contact,
                search_after: Some(request.cursor_of(contact)),
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &SearchAnswer {
                contacts,
                total,
                trace_id,
            },
        ))
    })
    .await
}

/// `{contacts, total, traceId}` (the live shape; the spec declares none).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchAnswer<'a> {
    contacts: Vec<SearchView<'a>>,
    total: usize,
    trace_id: String,
}

/// A match ranked by the request's order, for the bounded heap of [`SearchRequest::run`].
struct Ranked<'r, 'a> {
    request: &'r SearchRequest,
    contact: &'a Contact,
}

impl PartialEq for Ranked<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Ranked<'_, '_> {}

impl PartialOrd for Ranked<'_, '_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked<'_, '_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.request.compare(self.contact, other.contact)
    }
}

/// Fields a search can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortField {
    DateAdded,
    DateUpdated,
    FirstName,
    LastName,
    Email,
}

impl SortField {
    const NAMES: &'static [(&'static str, SortField)] = &[
        ("dateAdded", SortField::DateAdded),
        ("dateUpdated", SortField::DateUpdated),
        ("firstNameLowerCase", SortField::FirstName),
        ("lastNameLowerCase", SortField::LastName),
        ("email", SortField::Email),
    ];

    fn is_date(self) -> bool {
        matches!(self, SortField::DateAdded | SortField::DateUpdated)
    }

    fn key(self, contact: &Contact) -> Key<'_> {
        fn text(value: &Option<String>) -> Key<'_> {
            value.as_deref().map_or(Key::Missing, Key::Text)
        }
        match self {
            SortField::DateAdded => Key::Millis(contact.date_added.timestamp_millis()),
            SortField::DateUpdated => Key::Millis(contact.date_updated.timestamp_millis()),
            SortField::FirstName => text(&contact.first_name),
            SortField::LastName => text(&contact.last_name),
            SortField::Email => text(&contact.email),
        }
    }
}

/// One sort criterion.
#[derive(Debug, Clone, Copy)]
struct SortKey {
    field: SortField,
    descending: bool,
}

/// A sort value of a record or a cursor. Text compares case-insensitively (the sort fields are
/// the `*LowerCase` ones).
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    /// The record has no value: it sorts last in either direction, as Elasticsearch's default.
    Missing,
    Millis(i64),
    Text(&'a str),
}

/// A sort value read from a `searchAfter` cursor.
#[derive(Debug, Clone)]
enum CursorValue {
    Missing,
    Millis(i64),
    Text(String),
}

impl CursorValue {
    fn key(&self) -> Key<'_> {
        match self {
            CursorValue::Missing => Key::Missing,
            CursorValue::Millis(millis) => Key::Millis(*millis),
            CursorValue::Text(text) => Key::Text(text),
        }
    }
}

/// Where a page starts.
#[derive(Debug, Clone)]
enum Paging {
    /// 1-based page number.
    Page(u64),
    /// Strictly after this `[values..., id]`; `None` from the start.
    After(Option<(Vec<CursorValue>, String)>),
}

/// Text fields a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextField {
    Id,
    FirstName,
    LastName,
    Email,
    CompanyName,
    Address1,
    City,
    State,
    PostalCode,
    Country,
    Website,
    Timezone,
    Source,
    BusinessId,
    AssignedTo,
}

impl TextField {
    fn of(self, contact: &Contact) -> Option<&str> {
        match self {
            TextField::Id => Some(&contact.id),
            TextField::FirstName => contact.first_name.as_deref(),
            TextField::LastName => contact.last_name.as_deref(),
            TextField::Email => contact.email.as_deref(),
            TextField::CompanyName => contact.company_name.as_deref(),
            TextField::Address1 => contact.address1.as_deref(),
            TextField::City => contact.city.as_deref(),
            TextField::State => contact.state.as_deref(),
            TextField::PostalCode => contact.postal_code.as_deref(),
            TextField::Country => contact.country.as_deref(),
            TextField::Website => contact.website.as_deref(),
            TextField::Timezone => contact.timezone.as_deref(),
            TextField::Source => contact.source.as_deref(),
            TextField::BusinessId => contact.business_id.as_deref(),
            TextField::AssignedTo => contact.assigned_to.as_deref(),
        }
    }
}

/// What kind of value a filter field holds, which decides the operators it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Text(TextField),
    Phone,
    Tags,
    Dnd,
    Date(SortField),
}

/// The filterable fields: the list of the brief plus a few more contact fields.
const FILTER_FIELDS: &[(&str, FieldKind)] = &[
    ("id", FieldKind::Text(TextField::Id)),
    ("firstNameLowerCase", FieldKind::Text(TextField::FirstName)),
    ("lastNameLowerCase", FieldKind::Text(TextField::LastName)),
    ("firstName", FieldKind::Text(TextField::FirstName)),
    ("lastName", FieldKind::Text(TextField::LastName)),
    ("email", FieldKind::Text(TextField::Email)),
    ("companyName", FieldKind::Text(TextField::CompanyName)),
    ("address", FieldKind::Text(TextField::Address1)),
    ("address1", FieldKind::Text(TextField::Address1)),
    ("city", FieldKind::Text(TextField::City)),
    ("state", FieldKind::Text(TextField::State)),
    ("postalCode", FieldKind::Text(TextField::PostalCode)),
    ("country", FieldKind::Text(TextField::Country)),
    ("website", FieldKind::Text(TextField::Website)),
    ("timezone", FieldKind::Text(TextField::Timezone)),
    ("source", FieldKind::Text(TextField::Source)),
    ("businessId", FieldKind::Text(TextField::BusinessId)),
    ("assignedTo", FieldKind::Text(TextField::AssignedTo)),
    ("phone", FieldKind::Phone),
    ("tags", FieldKind::Tags),
    ("dnd", FieldKind::Dnd),
    ("dateAdded", FieldKind::Date(SortField::DateAdded)),
    ("dateUpdated", FieldKind::Date(SortField::DateUpdated)),
];

/// The test a leaf filter makes; `negate` turns `eq` into `not_eq` and so on.
#[derive(Debug, Clone)]
enum Test {
    /// Case-insensitive equality with one of these lowercased values.
    TextEq(Vec<String>),
    /// Case-insensitive substring (lowercased).
    TextContains(String),
    /// Phone equality (E.164).
    PhoneEq(String),
    /// The phone's digits contain these digits.
    PhoneContains(String),
    /// Has any of these tags (lowercased).
    TagsAnyOf(Vec<String>),
    /// Some tag contains this (lowercased).
    TagsContain(String),
    /// `dnd` is this.
    DndIs(bool),
    /// The date is this instant (ms).
    DateEq(i64),
    /// The date is within these bounds (ms).
    DateRange {
        gte: Option<i64>,
        lte: Option<i64>,
        gt: Option<i64>,
        lt: Option<i64>,
    },
    /// The field has a value.
    Exists,
}

/// A compiled filter.
#[derive(Debug, Clone)]
enum Filter {
    Group {
        any: bool,
        filters: Vec<Filter>,
    },
    Leaf {
        kind: FieldKind,
        test: Test,
        negate: bool,
    },
}

impl Filter {
    fn matches(&self, contact: &Contact) -> bool {
        match self {
            Filter::Group { any: true, filters } => {
                filters.is_empty() || filters.iter().any(|f| f.matches(contact))
            }
            Filter::Group {
                any: false,
                filters,
            } => filters.iter().all(|f| f.matches(contact)),
            Filter::Leaf { kind, test, negate } => leaf_matches(*kind, test, contact) != *negate,
        }
    }
}

fn leaf_matches(kind: FieldKind, test: &Test, contact: &Contact) -> bool {
    match (kind, test) {
        (FieldKind::Text(field), Test::TextEq(values)) => field
            .of(contact)
            .is_some_and(|text| values.iter().any(|value| eq_ci(text, value))),
        (FieldKind::Text(field), Test::TextContains(needle)) => field
            .of(contact)
            .is_some_and(|text| contains_ci(text, needle)),
        (FieldKind::Text(field), Test::Exists) => {
            field.of(contact).is_some_and(|text| !text.is_empty())
        }
        (FieldKind::Phone, Test::PhoneEq(phone)) => {
            contact.phone.as_deref() == Some(phone.as_str())
        }
        (FieldKind::Phone, Test::PhoneContains(digits)) => contact
            .phone
            .as_deref()
            .is_some_and(|phone| digits_contain(phone, digits)),
        (FieldKind::Phone, Test::Exists) => contact.phone.is_some(),
        (FieldKind::Tags, Test::TagsAnyOf(tags)) => {
            contact.tags.iter().any(|tag| tags.contains(tag))
        }
        (FieldKind::Tags, Test::TagsContain(needle)) => {
            contact.tags.iter().any(|tag| tag.contains(needle.as_str()))
        }
        (FieldKind::Tags, Test::Exists) => !contact.tags.is_empty(),
        (FieldKind::Dnd, Test::DndIs(dnd)) => contact.dnd == *dnd,
        (FieldKind::Dnd, Test::Exists) => true,
        (FieldKind::Date(field), test) => {
            let Key::Millis(millis) = field.key(contact) else {
                return false;
            };
            match test {
                Test::DateEq(at) => millis == *at,
                Test::DateRange { gte, lte, gt, lt } => {
                    gte.is_none_or(|bound| millis >= bound)
                        && lte.is_none_or(|bound| millis <= bound)
                        && gt.is_none_or(|bound| millis > bound)
                        && lt.is_none_or(|bound| millis < bound)
                }
                Test::Exists => true,
                _ => false,
            }
        }
        // Parsing pairs each kind only with its own tests.
        _ => false,
    }
}

/// `text` lowercased equals `lower` (already lowercased), without allocating.
fn eq_ci(text: &str, lower: &str) -> bool {
    text.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// `text` contains `lower` (already lowercased), case-insensitively; allocation-free for ASCII needles.
fn contains_ci(text: &str, lower: &str) -> bool {
    if lower.is_empty() {
        return true;
    }
    if lower.is_ascii() {
        let needle = lower.as_bytes();
        text.as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
    } else {
        text.to_lowercase().contains(lower)
    }
}

/// The digits of `phone` contain `digits`.
fn digits_contain(phone: &str, digits: &str) -> bool {
    let phone_digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    phone_digits.contains(digits)
}

/// Compares two texts case-insensitively, without allocating; byte-wise for ASCII, the common case.
fn cmp_ci(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|byte| byte.to_ascii_lowercase())
            .cmp(b.bytes().map(|byte| byte.to_ascii_lowercase()))
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    }
}

/// Compares two sort values; missing values go last whatever the direction.
fn cmp_key(a: Key<'_>, b: Key<'_>, descending: bool) -> Ordering {
    let directed = |ordering: Ordering| {
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    };
    match (a, b) {
        (Key::Missing, Key::Missing) => Ordering::Equal,
        (Key::Missing, _) => Ordering::Greater,
        (_, Key::Missing) => Ordering::Less,
        (Key::Millis(a), Key::Millis(b)) => directed(a.cmp(&b)),
        (Key::Text(a), Key::Text(b)) => directed(cmp_ci(a, b)),
        // A cursor's values are checked against the sort fields' types when parsed.
        _ => Ordering::Equal,
    }
}

/// The free-text query: lowercased, plus its digits when it looks like a phone number.
#[derive(Debug, Clone)]
struct TextQuery {
    lower: String,
    phone_digits: Option<String>,
}

impl TextQuery {
    fn new(query: &str) -> Self {
        let lower = query.trim().to_lowercase();
        let digits: String = lower.chars().filter(char::is_ascii_digit).collect();
        let phone_like = digits.len() >= 3
            && lower
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        TextQuery {
            lower,
            phone_digits: phone_like.then_some(digits),
        }
    }

    /// Matches on first, last and full name, e-mail, company and phone.
    fn matches(&self, contact: &Contact) -> bool {
        let text_hit = [
            &contact.first_name,
            &contact.last_name,
            &contact.email,
            &contact.company_name,
        ]
        .into_iter()
        .any(|field| {
            field
                .as_deref()
                .is_some_and(|text| contains_ci(text, &self.lower))
        });
        if text_hit {
            return true;
        }
        // Only a query with a space can match across first and last name.
        if self.lower.contains(' ')
            && contact
                .full_name()
                .is_some_and(|name| contains_ci(&name, &self.lower))
        {
            return true;
        }
        match (&self.phone_digits, &contact.phone) {
            (Some(digits), Some(phone)) => digits_contain(phone, digits),
            _ => false,
        }
    }
}

/// A validated search body.
#[derive(Debug, Clone)]
struct SearchRequest {
    location_id: String,
    page_limit: u64,
    paging: Paging,
    /// Combined with AND.
    filters: Vec<Filter>,
    /// Never empty: defaults to `dateAdded` descending.
    sort: Vec<SortKey>,
    query: Option<TextQuery>,
}

impl SearchRequest {
    /// Validates `body`; the error lists every problem, each naming its field.
    fn parse(body: &Value) -> Result<SearchRequest, Vec<String>> {
        let mut problems = Vec::new();
        let Some(body) = body.as_object() else {
            return Err(vec!["the body must be a JSON object".to_owned()]);
        };
        for key in body
            .keys()
            .filter(|key| !BODY_FIELDS.contains(&key.as_str()))
        {
            problems.push(format!("property {key} should not exist"));
        }
        let location_id = match body.get("locationId") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                problems.push("locationId should not be empty".to_owned());
                String::new()
            }
            Some(_) => {
                problems.push("locationId must be a string".to_owned());
                String::new()
            }
        };
        let page_limit = match body.get("pageLimit") {
            None | Some(Value::Null) => {
                problems.push("pageLimit should not be empty".to_owned());
                0
            }
            Some(value) => match value.as_u64() {
                Some(limit) if (1..=MAX_PAGE_LIMIT).contains(&limit) => limit,
                Some(0) => {
                    problems.push("pageLimit must not be less than 1".to_owned());
                    0
                }
                Some(_) => {
                    problems.push(format!(
                        "pageLimit must not be greater than {MAX_PAGE_LIMIT}"
                    ));
                    0
                }
                None => {
                    problems.push("pageLimit must be an integer number".to_owned());
                    0
                }
            },
        };
        let sort = parse_sort(body.get("sort"), &mut problems);
        let page = match body.get("page") {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_u64() {
                Some(page) if page >= 1 => Some(page),
                _ => {
                    problems.push("page must be an integer not less than 1".to_owned());
                    None
                }
            },
        };
        let search_after = match body.get("searchAfter") {
            None | Some(Value::Null) => None,
            Some(value) => Some(parse_cursor(value, &sort, &mut problems)),
        };
        let paging = match (page, search_after) {
            (Some(_), Some(_)) => {
                problems.push("page and searchAfter cannot be used together: searchAfter continues after a record, page counts from the start".to_owned());
                Paging::Page(1)
            }
            (Some(page), None) => {
                if page.saturating_mul(page_limit) > MAX_PAGE_WINDOW {
                    problems.push(format!(
                        "page: page * pageLimit must not exceed {MAX_PAGE_WINDOW}; use searchAfter to page further"
                    ));
                }
                Paging::Page(page)
            }
            (None, Some(cursor)) => Paging::After(cursor),
            (None, None) => Paging::Page(1),
        };
        let filters = match body.get("filters") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| {
                    parse_filter(item, &format!("filters.{index}"), &mut problems)
                })
                .collect(),
            Some(_) => {
                problems.push("filters must be an array".to_owned());
                Vec::new()
            }
        };
        let query = match body.get("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(query)) if query.chars().count() > MAX_TEXT_LEN => {
                problems.push(format!(
                    "query must be shorter than or equal to {MAX_TEXT_LEN} characters"
                ));
                None
            }
            Some(Value::String(query)) => (!query.trim().is_empty()).then(|| TextQuery::new(query)),
            Some(_) => {
                problems.push("query must be a string".to_owned());
                None
            }
        };
        if problems.is_empty() {
            Ok(SearchRequest {
                location_id,
                page_limit,
                paging,
                filters,
                sort,
                query,
            })
        } else {
            Err(problems)
        }
    }

    fn matches(&self, contact: &Contact) -> bool {
        self.filters.iter().all(|filter| filter.matches(contact))
            && self
                .query
                .as_ref()
                .is_none_or(|query| query.matches(contact))
    }

    /// Ties in every sort value are broken by id, in the direction of the last sort key, so the
    /// order is total and agrees with the `(dateAdded, id)` index.
    fn tie(&self, ordering: Ordering) -> Ordering {
        if self.sort.last().is_some_and(|key| key.descending) {
            ordering.reverse()
        } else {
            ordering
        }
    }

    /// The result order.
    fn compare(&self, a: &Contact, b: &Contact) -> Ordering {
        self.sort
            .iter()
            .map(|key| cmp_key(key.field.key(a), key.field.key(b), key.descending))
            .find(|ordering| ordering.is_ne())
            .unwrap_or_else(|| self.tie(a.id.cmp(&b.id)))
    }

    /// Whether `contact` comes strictly after the cursor.
    fn is_after(&self, contact: &Contact, values: &[CursorValue], id: &str) -> bool {
        self.sort
            .iter()
            .zip(values)
            .map(|(key, value)| cmp_key(key.field.key(contact), value.key(), key.descending))
            .find(|ordering| ordering.is_ne())
            .unwrap_or_else(|| self.tie(contact.id.as_str().cmp(id)))
            == Ordering::Greater
    }

    /// The `searchAfter` value that continues after `contact`.
    fn cursor_of(&self, contact: &Contact) -> Vec<Value> {
        let mut cursor: Vec<Value> = self
            .sort
            .iter()
            .map(|key| match key.field.key(contact) {
                Key::Missing => Value::Null,
                Key::Millis(millis) => json!(millis),
                Key::Text(text) => Value::String(text.to_lowercase()),
            })
            .collect();
        cursor.push(Value::String(contact.id.clone()));
        cursor
    }

    /// `(records to skip, records to return)`.
    fn window(&self) -> (usize, usize) {
        let limit = usize::try_from(self.page_limit).unwrap_or(usize::MAX);
        match self.paging {
            Paging::Page(page) => (
                usize::try_from((page - 1) * self.page_limit).unwrap_or(usize::MAX),
                limit,
            ),
            Paging::After(_) => (0, limit),
        }
    }

    /// The total number of matches and the page's records.
    fn run<'a>(&self, location: &'a Location) -> (usize, Vec<&'a Contact>) {
        let by_date_added_only = self.filters.is_empty()
            && self.query.is_none()
            && matches!(
                self.sort.as_slice(),
                [SortKey {
                    field: SortField::DateAdded,
                    ..
                }]
            );
        if by_date_added_only {
            return (location.contacts.len(), self.run_indexed(location));
        }
        let cursor = match &self.paging {
            Paging::After(Some((values, id))) => Some((values.as_slice(), id.as_str())),
            _ => None,
        };
        // The best `skip + take` matches so far, in a max-heap whose top is the worst of them:
        // a match enters only if it beats the top, so most matches cost one comparison and
        // memory stays bounded by the page window (at most 10,000 records).
        let (skip, take) = self.window();
        let wanted = skip.saturating_add(take);
        let mut total = 0;
        let mut best: BinaryHeap<Ranked<'_, 'a>> =
            BinaryHeap::with_capacity(wanted.min(location.contacts.len()) + 1);
        for contact in location.contacts.values() {
            if !self.matches(contact) {
                continue;
            }
            total += 1;
            if cursor.is_some_and(|(values, id)| !self.is_after(contact, values, id)) {
                continue;
            }
            let candidate = Ranked {
                request: self,
                contact,
            };
            if best.len() < wanted {
                best.push(candidate);
            } else if let Some(mut worst) = best.peek_mut()
                && candidate < *worst
            {
                *worst = candidate;
            }
        }
        let page = best
            .into_sorted_vec()
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|ranked| ranked.contact)
            .collect();
        (total, page)
    }

    /// A page from the `(dateAdded, id)` index, for unfiltered searches sorted by `dateAdded`.
    fn run_indexed<'a>(&self, location: &'a Location) -> Vec<&'a Contact> {
        let descending = self.sort.first().is_some_and(|key| key.descending);
        let (skip, take) = self.window();
        let (lower, upper) = match &self.paging {
            Paging::After(Some((values, id))) => match values.first() {
                Some(CursorValue::Millis(millis)) => {
                    let at = (*millis, id.clone());
                    if descending {
                        (Bound::Unbounded, Bound::Excluded(at))
                    } else {
                        (Bound::Excluded(at), Bound::Unbounded)
                    }
                }
                // Every contact has a `dateAdded`, and missing values sort last: nothing follows.
                _ => return Vec::new(),
            },
            _ => (Bound::Unbounded, Bound::Unbounded),
        };
        let range = location.by_date_added.range((lower, upper));
        let keys: Box<dyn Iterator<Item = &(i64, String)>> = if descending {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        keys.skip(skip)
            .take(take)
            .filter_map(|(_, id)| location.contacts.get(id).map(|contact| &**contact))
            .collect()
    }
}

fn parse_sort(sort: Option<&Value>, problems: &mut Vec<String>) -> Vec<SortKey> {
    // Without a sort, newest first: the order the real search lists contacts in by default (a
    // choice; the docs do not say).
    let default = vec![SortKey {
        field: SortField::DateAdded,
        descending: true,
    }];
    let items = match sort {
        None | Some(Value::Null) => return default,
        Some(Value::Array(items)) if items.is_empty() => return default,
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push("sort must be an array".to_owned());
            return default;
        }
    };
    let names = SortField::NAMES
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    let mut keys = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Some(item) = item.as_object() else {
            problems.push(format!(
                "sort.{index} must be an object {{field, direction}}"
            ));
            continue;
        };
        let field = item.get("field").and_then(Value::as_str);
        let field = match SortField::NAMES
            .iter()
            .find(|(name, _)| Some(*name) == field)
        {
            Some((_, field)) => *field,
            None => {
                problems.push(format!("sort.{index}.field must be one of: {names}"));
                continue;
            }
        };
        let descending = match item.get("direction").map(|direction| direction.as_str()) {
            None | Some(Some("asc")) => false,
            Some(Some("desc")) => true,
            Some(_) => {
                problems.push(format!("sort.{index}.direction must be one of: asc, desc"));
                continue;
            }
        };
        keys.push(SortKey { field, descending });
    }
    if keys.is_empty() { default } else { keys }
}

fn parse_cursor(
    value: &Value,
    sort: &[SortKey],
    problems: &mut Vec<String>,
) -> Option<(Vec<CursorValue>, String)> {
    let Value::Array(items) = value else {
        problems.push("searchAfter must be an array: the searchAfter of the last contact of the previous page".to_owned());
        return None;
    };
    // An empty cursor starts from the beginning, so a client may send its first request the same
    // way as the next ones.
    if items.is_empty() {
        return None;
    }
    if items.len() != sort.len() + 1 {
        problems.push(format!(
            "searchAfter must have {} values: the sort values then the contact id, as returned in each contact's searchAfter",
            sort.len() + 1
        ));
        return None;
    }
    let mut values = Vec::with_capacity(sort.len());
    for (index, (key, item)) in sort.iter().zip(items).enumerate() {
        let value = match (key.field.is_date(), item) {
            (_, Value::Null) => CursorValue::Missing,
            (true, Value::Number(number)) if number.as_i64().is_some() => {
                CursorValue::Millis(number.as_i64().unwrap_or_default())
            }
            (true, Value::String(text)) if text.parse::<i64>().is_ok() => {
                CursorValue::Millis(text.parse().unwrap_or_default())
            }
            (false, Value::String(text)) => CursorValue::Text(text.to_lowercase()),
            (true, _) => {
                problems.push(format!(
                    "searchAfter.{index} must be a number (epoch milliseconds)"
                ));
                return None;
            }
            (false, _) => {
                problems.push(format!("searchAfter.{index} must be a string"));
                return None;
            }
        };
        values.push(value);
    }
    match items.last() {
        Some(Value::String(id)) => Some((values, id.clone())),
        _ => {
            problems.push(format!(
                "searchAfter.{} must be a string (the contact id)",
                sort.len()
            ));
            None
        }
    }
}

/// Reads a filter's scalar `value` as text (numbers and booleans in their JSON spelling).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Reads an instant: epoch milliseconds (number or digits), an ISO timestamp or a `YYYY-MM-DD` date.
fn parse_instant(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64)),
        Value::String(text) => text
            .parse::<i64>()
            .ok()
            .or_else(|| {
                DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|time| time.timestamp_millis())
            })
            .or_else(|| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .and_then(|date| date.and_hms_opt(0, 0, 0))
                    .map(|time| time.and_utc().timestamp_millis())
            }),
        _ => None,
    }
}

fn parse_filter(item: &Value, path: &str, problems: &mut Vec<String>) -> Option<Filter> {
    let Some(item) = item.as_object() else {
        problems.push(format!(
            "{path} must be an object {{field, operator, value}} or {{group, filters}}"
        ));
        return None;
    };
    if item.contains_key("group") {
        return parse_group(item, path, problems);
    }
    let field_name = item.get("field").and_then(Value::as_str);
    let Some(&(_, kind)) = FILTER_FIELDS
        .iter()
        .find(|(name, _)| Some(*name) == field_name)
    else {
        let names = FILTER_FIELDS
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ");
        problems.push(format!("{path}.field must be one of: {names}"));
        return None;
    };
    let field_name = field_name.unwrap_or_default();
    let operator = item
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (operator, negate) = match operator {
        "eq" | "contains" | "exists" | "range" => (operator, false),
        "not_eq" => ("eq", true),
        "not_contains" => ("contains", true),
        "not_exists" => ("exists", true),
        _ => {
            problems.push(format!(
                "{path}.operator must be one of: eq, not_eq, contains, not_contains, exists, not_exists, range"
            ));
            return None;
        }
    };
    let value = item.get("value").unwrap_or(&Value::Null);
    let bad = |problems: &mut Vec<String>, what: &str| {
        problems.push(format!("{path}.value {what}"));
        None
    };
    if let Some(text) = value.as_str()
        && text.chars().count() > MAX_TEXT_LEN
    {
        return bad(
            problems,
            &format!("must be shorter than or equal to {MAX_TEXT_LEN} characters"),
        );
    }
    let unsupported = |problems: &mut Vec<String>| {
        problems.push(format!(
            "{path}.operator {operator} is not supported for field {field_name}"
        ));
        None
    };
    let test = match (kind, operator) {
        (_, "exists") => Test::Exists,
        (FieldKind::Text(_), "eq") => match value {
            Value::Array(items) => {
                match items.iter().map(scalar_text).collect::<Option<Vec<_>>>() {
                    Some(values) => {
                        Test::TextEq(values.iter().map(|value| value.to_lowercase()).collect())
                    }
                    None => return bad(problems, "must be a string or an array of strings"),
                }
            }
            _ => match scalar_text(value) {
                Some(text) => Test::TextEq(vec![text.to_lowercase()]),
                None => return bad(problems, "must be a string, a number or a boolean"),
            },
        },
        (FieldKind::Text(_), "contains") => match value.as_str() {
            Some(text) => Test::TextContains(text.to_lowercase()),
            None => return bad(problems, "must be a string"),
        },
        (FieldKind::Phone, "eq") => match scalar_text(value).as_deref().map(normalize_phone) {
            Some(Some(phone)) => Test::PhoneEq(phone),
            // A value that cannot be a phone number equals no phone.
            Some(None) => Test::PhoneEq(String::new()),
            None => return bad(problems, "must be a string"),
        },
        (FieldKind::Phone, "contains") => match scalar_text(value) {
            Some(text) => Test::PhoneContains(text.chars().filter(char::is_ascii_digit).collect()),
            None => return bad(problems, "must be a string"),
        },
        (FieldKind::Tags, "eq") => match value {
            Value::String(tag) => Test::TagsAnyOf(vec![tag.trim().to_lowercase()]),
            Value::Array(tags) if tags.iter().all(Value::is_string) => Test::TagsAnyOf(
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(|tag| tag.trim().to_lowercase())
                    .collect(),
            ),
            _ => return bad(problems, "must be a string or an array of strings"),
        },
        (FieldKind::Tags, "contains") => match value.as_str() {
            Some(text) => Test::TagsContain(text.trim().to_lowercase()),
            None => return bad(problems, "must be a string"),
        },
        (FieldKind::Dnd, "eq") => match value {
            Value::Bool(flag) => Test::DndIs(*flag),
            Value::String(text) if text == "true" || text == "false" => Test::DndIs(text == "true"),
            _ => return bad(problems, "must be a boolean"),
        },
        (FieldKind::Date(_), "eq") => match parse_instant(value) {
            Some(at) => Test::DateEq(at),
            None => return bad(problems, "must be a date (ISO 8601 or epoch milliseconds)"),
        },
        (FieldKind::Date(_), "range") => {
            let Some(bounds) = value.as_object() else {
                return bad(problems, "must be an object with gte, lte, gt or lt");
            };
            let read = |name: &str| -> Result<Option<i64>, ()> {
                match bounds.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(bound) => parse_instant(bound).map(Some).ok_or(()),
                }
            };
            match (read("gte"), read("lte"), read("gt"), read("lt")) {
                (Ok(gte), Ok(lte), Ok(gt), Ok(lt))
                    if [gte, lte, gt, lt].iter().any(Option::is_some) =>
                {
                    Test::DateRange { gte, lte, gt, lt }
                }
                (Ok(_), Ok(_), Ok(_), Ok(_)) => {
                    return bad(problems, "must have at least one of gte, lte, gt, lt");
                }
                _ => {
                    return bad(
                        problems,
                        "bounds must be dates (ISO 8601 or epoch milliseconds)",
                    );
                }
            }
        }
        _ => return unsupported(problems),
    };
    Some(Filter::Leaf { kind, test, negate })
}

fn parse_group(
    item: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<Filter> {
    let any = match item.get("group").and_then(Value::as_str) {
        Some("AND" | "and") => false,
        Some("OR" | "or") => true,
        _ => {
            problems.push(format!("{path}.group must be one of: AND, OR"));
            return None;
        }
    };
    let Some(Value::Array(items)) = item.get("filters") else {
        problems.push(format!("{path}.filters must be an array"));
        return None;
    };
    let filters = items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            parse_filter(item, &format!("{path}.filters.{index}"), problems)
        })
        .collect();
    Some(Filter::Group { any, filters })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(body: Value) -> Vec<String> {
        SearchRequest::parse(&body).err().unwrap_or_default()
    }

    fn check_refused(body: Value, field: &str) {
        let found = problems(body);
        assert!(
            found.iter().any(|problem| problem.starts_with(field)),
            "{field}: {found:?}"
        );
    }

    #[test]
    fn required_fields_and_limits_are_enforced() {
        check_refused(json!({"pageLimit": 10}), "locationId");
        check_refused(json!({"locationId": "l"}), "pageLimit");
        check_refused(json!({"locationId": "l", "pageLimit": 501}), "pageLimit");
        check_refused(json!({"locationId": "l", "pageLimit": 0}), "pageLimit");
        check_refused(
            json!({"locationId": "l", "pageLimit": 500, "page": 21}),
            "page",
        );
        check_refused(
            json!({"locationId": "l", "pageLimit": 10, "page": 1, "searchAfter": [1, "a"]}),
            "page and searchAfter",
        );
        check_refused(
            json!({"locationId": "l", "pageLimit": 10, "query": "x".repeat(76)}),
            "query",
        );
        check_refused(
            json!({"locationId": "l", "pageLimit": 10, "limit": 5}),
            "property limit",
        );
        assert!(problems(json!({"locationId": "l", "pageLimit": 500, "page": 20})).is_empty());
    }

    #[test]
    fn filters_and_sort_are_checked_by_path() {
        let base = |extra: Value| {
            let mut body = json!({"locationId": "l", "pageLimit": 10});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            body
        };
        check_refused(
            base(json!({"filters": [{"field": "shoeSize", "operator": "eq", "value": 1}]})),
            "filters.0.field",
        );
        check_refused(
            base(json!({"filters": [{"field": "email", "operator": "like", "value": "a"}]})),
            "filters.0.operator",
        );
        check_refused(
            base(json!({"filters": [{"field": "email", "operator": "range", "value": {}}]})),
            "filters.0.operator",
        );
        check_refused(
            base(
                json!({"filters": [{"group": "OR", "filters": [{"field": "dnd", "operator": "eq", "value": 3}]}]}),
            ),
            "filters.0.filters.0.value",
        );
        check_refused(
            base(
                json!({"filters": [{"field": "dateAdded", "operator": "range", "value": {"gt": "soon"}}]}),
            ),
            "filters.0.value",
        );
        check_refused(
            base(json!({"sort": [{"field": "phone", "direction": "asc"}]})),
            "sort.0.field",
        );
        check_refused(
            base(json!({"sort": [{"field": "email", "direction": "up"}]})),
            "sort.0.direction",
        );
        check_refused(base(json!({"searchAfter": ["x", "id"]})), "searchAfter.0");
        check_refused(base(json!({"searchAfter": [1]})), "searchAfter must have 2");
    }

    #[test]
    fn case_insensitive_helpers() {
        assert!(eq_ci("ÉMILE", "émile"));
        assert!(contains_ci("Rosan Deo", "an d"));
        assert!(contains_ci("Ärger", "ärg"));
        assert!(!contains_ci("Rosan", "rosana"));
        assert_eq!(cmp_ci("alpha", "Beta"), Ordering::Less);
        assert_eq!(cmp_ci("Émile", "émile"), Ordering::Equal);
        assert_eq!(cmp_ci("ab", "ABC"), Ordering::Less);
        assert_eq!(
            cmp_key(Key::Missing, Key::Millis(1), true),
            Ordering::Greater
        );
        assert_eq!(
            cmp_key(Key::Millis(2), Key::Millis(1), true),
            Ordering::Less
        );
    }
}
