//! Polling triggers over HighLevel: what was added or changed since a durable cursor, each
//! record handed out once across pages and polls (the engine's contract: `{"cursor", "limit"}`
//! in, `{"records", "cursor"}` out, see `tether_engine::poller`).
//!
//! | trigger | source | cursor |
//! | --- | --- | --- |
//! | contacts added / updated | search, filter `dateAdded` / `dateUpdated` `range` `gte` the cursor's time, sorted by it ascending, paged with `searchAfter` | [`PollCursor`] |
//! | notes, appointments of a contact | the contact's list (not paged), sorted here by (`dateAdded`, id) | [`PollCursor`] |
//! | tasks of a contact | the contact's list: tasks carry no creation time | [`SeenCursor`] |
//! | contacts attached to a business | the business's listing (`skip` / `limit`): nothing says when a contact joined | [`SeenCursor`] |
//!
//! **Time-ordered sources.** A poll asks for records at or after the cursor's time (inclusive,
//! so records sharing that instant are read again) and drops those handed out before: every
//! record before the cursor's time, and at the cursor's time those whose id is in the cursor's
//! `seen` list (all ids handed out at that instant). A list of ids rather than the (time, id)
//! order at that instant, because a record can appear at the cursor's instant after the cursor
//! was taken, with an id sorting before the cursor's (a late write in the same millisecond, or
//! in the same second for a contact's appointments, whose times have no milliseconds); the (time,
//! id) order would drop it for good. Past [`MAX_TIED_IDS`] records at one instant the list gives
//! way to that order (`seen` empty: at the cursor's time, ids up to `id` were handed out), which
//! relies on the service ordering ties by id, and would drop such a late record at that instant.
//!
//! **Not covered.** Search is eventually consistent ("a few seconds", reference README §4.1): a
//! contact written just before a poll can reach the index after it, with a time before the
//! cursor that poll moved to, and this trigger then never hands it out. Webhooks stay the
//! primary feed; this poll catches the contacts whose webhook was lost, once they are indexed.
//!
//! **Sources without a time.** The cursor is the set of ids already handed out that the source
//! still lists (ids it no longer lists are forgotten, so the set stays as small as the listing),
//! at most [`MAX_SEEN_IDS`]: a listing larger than that is refused rather than tracked partly.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::models::{
    FilterOperator, SearchBody, SearchFilter, SearchRequest, SearchSort, SortDirection,
};
use super::{Api, BusinessId, ContactId, Error, GhlClient, segment};

/// Records one call returns when the caller names no `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most records one call returns.
pub const MAX_LIMIT: u32 = 10_000;
/// The most ids a [`PollCursor`] lists at its instant; past it the (time, id) order stands in.
pub const MAX_TIED_IDS: usize = 1_000;
/// The most ids a [`SeenCursor`] holds: the largest listing a time-less trigger tracks.
pub const MAX_SEEN_IDS: usize = 10_000;
/// The largest search page (README §4.1).
const MAX_SEARCH_PAGE: usize = 500;
/// The largest page of a business's contacts (v3 spec).
const BUSINESS_PAGE: u32 = 100;

/// Where a time-ordered poll resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollCursor {
    /// The time of the last record handed out (its `dateAdded` or `dateUpdated`).
    pub time: DateTime<Utc>,
    /// The id of the last record handed out.
    pub id: String,
    /// Every id handed out whose time is `time`. Empty means "ids up to `id`" (a cursor from
    /// before the list existed, or more than [`MAX_TIED_IDS`] records at one instant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
}

/// Where a poll of a source without times resumes: the ids handed out that it still lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeenCursor {
    /// The ids, in the source's order.
    pub seen: Vec<String>,
}

/// One poll's result.
#[derive(Debug, Clone, PartialEq)]
pub struct PollBatch<C> {
    /// The records handed out, oldest first: each as the API answered it, plus `created_at` and
    /// `updated_at` (RFC 3339) copied from `dateAdded` and `dateUpdated` when it has them.
    pub records: Vec<Value>,
    /// Where the next poll resumes; the given cursor when nothing came.
    pub cursor: Option<C>,
}

/// Which time of a contact a contact trigger follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactChange {
    /// Added: `dateAdded`.
    Added,
    /// Added or changed: `dateUpdated`.
    Updated,
}

impl ContactChange {
    /// The search field.
    pub fn field(self) -> &'static str {
        match self {
            ContactChange::Added => "dateAdded",
            ContactChange::Updated => "dateUpdated",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Catalog inputs and output

/// A poll of a time-ordered source.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollInput {
    /// The cursor the previous call answered; `null` or absent to start from the oldest record.
    #[serde(default)]
    pub cursor: Option<PollCursor>,
    /// The most records to return (100 when absent).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub limit: Option<u32>,
}

/// A poll of a source without times.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeenPollInput {
    /// The cursor the previous call answered; `null` or absent to start with every record.
    #[serde(default)]
    pub cursor: Option<SeenCursor>,
    /// The most records to return (100 when absent).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub limit: Option<u32>,
}

/// A poll of the contacts attached to a business.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusinessPollInput {
    /// The business.
    pub business_id: BusinessId,
    /// The cursor the previous call answered; `null` or absent to start with every member.
    #[serde(default)]
    pub cursor: Option<SeenCursor>,
    /// The most records to return (100 when absent).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub limit: Option<u32>,
}

impl PollInput {
    /// The limit, checked.
    pub fn limit(&self) -> Result<usize, Error> {
        checked_limit(self.limit)
    }
}

impl SeenPollInput {
    /// The limit, checked.
    pub fn limit(&self) -> Result<usize, Error> {
        checked_limit(self.limit)
    }
}

impl BusinessPollInput {
    /// The limit, checked.
    pub fn limit(&self) -> Result<usize, Error> {
        checked_limit(self.limit)
    }
}

fn checked_limit(limit: Option<u32>) -> Result<usize, Error> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(usize::try_from(limit).unwrap_or(usize::MAX)),
        other => Err(Error::InvalidInput {
            path: "limit".into(),
            message: format!("must be between 1 and {MAX_LIMIT}, got {other}"),
        }),
    }
}

/// What a polling trigger answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PollOutput<C> {
    /// The records handed out, oldest first.
    #[schemars(with = "Vec<PolledRecord>")]
    pub records: Vec<Value>,
    /// Pass it back as `cursor` on the next call; `null` until a record came.
    pub cursor: Option<C>,
}

impl<C> From<PollBatch<C>> for PollOutput<C> {
    fn from(batch: PollBatch<C>) -> Self {
        PollOutput {
            records: batch.records,
            cursor: batch.cursor,
        }
    }
}

/// The schema of a record a trigger hands out: the API's fields plus the engine's two times.
struct PolledRecord;

impl JsonSchema for PolledRecord {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PolledRecord".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The record as HighLevel answered it, plus `created_at` / `updated_at` copied from `dateAdded` / `dateUpdated`.",
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"}
            },
            "required": ["id"],
            // The other fields are the API's, which this schema does not list; saying so keeps
            // flow validation from reporting them as missing.
            "additionalProperties": true
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The polls

/// The polling triggers of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Polls<'a> {
    pub(crate) client: &'a GhlClient,
}

impl Polls<'_> {
    /// Up to `limit` contacts added (or changed) after `cursor`, oldest first, each version
    /// once: `POST /contacts/search` filtered by a `range` `gte` on the time field, sorted by it
    /// ascending, paged with `searchAfter` (so past 10,000 records).
    pub async fn contacts(
        &self,
        change: ContactChange,
        cursor: Option<&PollCursor>,
        limit: usize,
    ) -> Result<PollBatch<PollCursor>, Error> {
        let limit = positive(limit)?;
        let field = change.field();
        let mut tracker = TimeTracker::new(cursor);
        // One page holds the records at the cursor's instant read again plus a full batch,
        // so a poll usually costs one call.
        let page_limit = (limit + tracker.tied()).clamp(1, MAX_SEARCH_PAGE);
        let filters = cursor
            .map(|cursor| SearchFilter::Condition {
                field: field.to_owned(),
                operator: FilterOperator::Range,
                value: Some(
                    json!({"gte": cursor.time.to_rfc3339_opts(SecondsFormat::Millis, true)}),
                ),
            })
            .into_iter()
            .collect();
        let mut search = SearchRequest {
            filters,
            sort: vec![SearchSort {
                field: field.to_owned(),
                direction: SortDirection::Asc,
            }],
            page_limit: u32::try_from(page_limit).unwrap_or(u32::MAX),
            ..SearchRequest::default()
        };
        let mut records = Vec::new();
        let mut previous: Option<DateTime<Utc>> = None;
        'pages: loop {
            let page = self.search(&search).await?;
            let (contacts, page_cursor) = search_page(page)?;
            let n_contacts = contacts.len();
            let next = page_cursor.or_else(|| {
                contacts
                    .last()
                    .and_then(|last| last.get("searchAfter"))
                    .and_then(Value::as_array)
                    .cloned()
            });
            for contact in contacts {
                let (time, id) = record_key(&contact, field)?;
                // Dropping by cursor is only sound when the service keeps the order asked for.
                if previous.is_some_and(|previous| time < previous) {
                    return Err(Error::Protocol {
                        message: format!("search answered contacts out of {field} order at {id}"),
                    });
                }
                previous = Some(time);
                if tracker.handed_out(time, &id) {
                    continue;
                }
                tracker.hand_out(time, id);
                records.push(polled_record(contact)?);
                if records.len() >= limit {
                    break 'pages;
                }
            }
            if n_contacts < page_limit {
                break;
            }
            search.search_after = Some(next.ok_or_else(|| Error::Protocol {
                message: "a full search page carries no searchAfter cursor".into(),
            })?);
        }
        Ok(PollBatch {
            records,
            cursor: tracker.into_cursor(),
        })
    }

    /// Up to `limit` notes added to the contact after `cursor`, by (`dateAdded`, id).
    pub async fn contact_notes(
        &self,
        contact_id: &ContactId,
        cursor: Option<&PollCursor>,
        limit: usize,
    ) -> Result<PollBatch<PollCursor>, Error> {
        let notes = self.contact_list(contact_id, "notes").await?;
        timed_batch(notes, "dateAdded", cursor, limit)
    }

    /// Up to `limit` appointments booked for the contact after `cursor`, by (`dateAdded`, id).
    ///
    /// The list writes times as `YYYY-MM-DD HH:mm:ss` without a zone (README §13.16); they are
    /// read as UTC. The cursor is right whatever the zone, as it only compares them; the
    /// records' `created_at` / `updated_at` are off by the zone's offset if it is not UTC.
    pub async fn contact_appointments(
        &self,
        contact_id: &ContactId,
        cursor: Option<&PollCursor>,
        limit: usize,
    ) -> Result<PollBatch<PollCursor>, Error> {
        let events = self.contact_list(contact_id, "appointments").await?;
        timed_batch(events, "dateAdded", cursor, limit)
    }

    /// Up to `limit` tasks of the contact not handed out before, in the list's order.
    ///
    /// Tasks carry no creation time (the spec's `TaskSchema`), so the cursor is the set of task
    /// ids already handed out; see [`SeenCursor`].
    pub async fn contact_tasks(
        &self,
        contact_id: &ContactId,
        cursor: Option<&SeenCursor>,
        limit: usize,
    ) -> Result<PollBatch<SeenCursor>, Error> {
        let tasks = self.contact_list(contact_id, "tasks").await?;
        seen_batch(tasks, cursor, limit)
    }

    /// Up to `limit` contacts attached to the business since `cursor`, in the listing's order.
    ///
    /// The listing says nothing about when a contact joined the business (its `dateAdded` is
    /// the contact's own), so the cursor is the set of member ids already handed out, and every
    /// poll reads the whole listing (one call per 100 members). A contact taken out of the
    /// business and put back is handed out again, with the same `created_at` as the first time.
    pub async fn business_contacts(
        &self,
        business_id: &BusinessId,
        cursor: Option<&SeenCursor>,
        limit: usize,
    ) -> Result<PollBatch<SeenCursor>, Error> {
        let path = format!(
            "/contacts/business/{}",
            segment("businessId", business_id.as_str())?
        );
        let mut members = Vec::new();
        let mut skip: u32 = 0;
        loop {
            let request = self
                .client
                .request(Api::Contacts, Method::GET, path.clone())?
                .query("locationId", self.client.location_id().as_str())
                .query("limit", BUSINESS_PAGE.to_string())
                .query("skip", skip.to_string());
            let page: Value = self.client.send(request).await?;
            let total = page
                .get("count")
                .or_else(|| page.get("total"))
                .and_then(|count| count.as_u64().or_else(|| count.as_str()?.parse().ok()));
            let contacts = listed(page, "contacts")?;
            let n_contacts = u32::try_from(contacts.len()).unwrap_or(u32::MAX);
            members.extend(contacts);
            if members.len() > MAX_SEEN_IDS {
                return Err(too_many("business contacts"));
            }
            skip = skip.saturating_add(n_contacts);
            let total_reached = total.is_some_and(|total| u64::from(skip) >= total);
            if n_contacts < BUSINESS_PAGE || total_reached {
                break;
            }
        }
        seen_batch(members, cursor, limit)
    }

    /// `GET /contacts/{contactId}/<what>` (tasks, notes, appointments): every record, raw.
    async fn contact_list(&self, contact_id: &ContactId, what: &str) -> Result<Vec<Value>, Error> {
        let path = format!(
            "/contacts/{}/{what}",
            segment("contactId", contact_id.as_str())?
        );
        let request = self.client.request(Api::Contacts, Method::GET, path)?;
        let answer: Value = self.client.send(request).await?;
        let key = if what == "appointments" {
            "events"
        } else {
            what
        };
        listed(answer, key)
    }

    /// `POST /contacts/search`, answered as read (the typed page would drop fields).
    async fn search(&self, search: &SearchRequest) -> Result<Value, Error> {
        let body = SearchBody {
            location_id: self.client.location_id(),
            request: search,
        };
        let request = self
            .client
            .request(Api::Contacts, Method::POST, "/contacts/search".into())?
            .json(&body)?
            // A search only reads.
            .idempotent(true);
        self.client.send_undeclared(request).await
    }
}

fn positive(limit: usize) -> Result<usize, Error> {
    if limit == 0 {
        return Err(Error::InvalidInput {
            path: "limit".into(),
            message: "must be at least 1".into(),
        });
    }
    Ok(limit)
}

fn too_many(what: &str) -> Error {
    Error::Protocol {
        message: format!(
            "more than {MAX_SEEN_IDS} {what}: too many to track without a time to order them by"
        ),
    }
}

/// The records under `key` of an answer (missing or `null` is none).
fn listed(answer: Value, key: &str) -> Result<Vec<Value>, Error> {
    let Value::Object(mut fields) = answer else {
        return Err(Error::Protocol {
            message: format!("the answer is not an object with `{key}`"),
        });
    };
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(records)) => Ok(records),
        Some(_) => Err(Error::Protocol {
            message: format!("`{key}` is not an array"),
        }),
    }
}

/// A search page's contacts and its page-level `searchAfter`, if any.
fn search_page(page: Value) -> Result<(Vec<Value>, Option<Vec<Value>>), Error> {
    let search_after = page.get("searchAfter").and_then(Value::as_array).cloned();
    Ok((listed(page, "contacts")?, search_after))
}

/// Sorts a list by (`field`, id) and hands out what follows `cursor`.
fn timed_batch(
    list: Vec<Value>,
    field: &str,
    cursor: Option<&PollCursor>,
    limit: usize,
) -> Result<PollBatch<PollCursor>, Error> {
    let limit = positive(limit)?;
    let mut keyed = list
        .into_iter()
        .map(|record| Ok((record_key(&record, field)?, record)))
        .collect::<Result<Vec<_>, Error>>()?;
    keyed.sort_by(|(a, _), (b, _)| a.cmp(b));
    let mut tracker = TimeTracker::new(cursor);
    let mut records = Vec::new();
    for ((time, id), record) in keyed {
        if records.len() >= limit {
            break;
        }
        if tracker.handed_out(time, &id) {
            continue;
        }
        tracker.hand_out(time, id);
        records.push(polled_record(record)?);
    }
    Ok(PollBatch {
        records,
        cursor: tracker.into_cursor(),
    })
}

/// Hands out, in the list's order, up to `limit` records whose ids `cursor` does not hold.
fn seen_batch(
    list: Vec<Value>,
    cursor: Option<&SeenCursor>,
    limit: usize,
) -> Result<PollBatch<SeenCursor>, Error> {
    let limit = positive(limit)?;
    let before: HashSet<&str> = cursor
        .map(|cursor| cursor.seen.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut kept: Vec<String> = Vec::new();
    let mut kept_set: HashSet<String> = HashSet::new();
    let mut records = Vec::new();
    for record in list {
        let id = record_id(&record)?.to_owned();
        // A record listed twice (an offset listing shifting under a concurrent change) counts once.
        if kept_set.contains(&id) {
            continue;
        }
        if before.contains(id.as_str()) {
            kept_set.insert(id.clone());
            kept.push(id);
        } else if records.len() < limit {
            records.push(polled_record(record)?);
            kept_set.insert(id.clone());
            kept.push(id);
        }
    }
    if kept.len() > MAX_SEEN_IDS {
        return Err(too_many("records"));
    }
    let cursor = if kept.is_empty() && cursor.is_none() {
        None
    } else {
        Some(SeenCursor { seen: kept })
    };
    Ok(PollBatch { records, cursor })
}

fn record_id(record: &Value) -> Result<&str, Error> {
    record
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Error::Protocol {
            message: "a record has no string `id`".into(),
        })
}

/// A record's (time, id) by `field`.
fn record_key(record: &Value, field: &str) -> Result<(DateTime<Utc>, String), Error> {
    let id = record_id(record)?;
    let time = record
        .get(field)
        .and_then(Value::as_str)
        .and_then(parse_time)
        .ok_or_else(|| Error::Protocol {
            message: format!("record {id} has no readable `{field}`"),
        })?;
    Ok((time, id.to_owned()))
}

/// Reads an RFC 3339 time, or the zone-less `YYYY-MM-DD HH:mm:ss` of a contact's appointment
/// list as UTC.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|time| time.and_utc())
}

/// The record as the API answered it, without the search's paging value, plus `created_at` /
/// `updated_at` (the engine's default event-key fields) from `dateAdded` / `dateUpdated`.
fn polled_record(record: Value) -> Result<Value, Error> {
    let Value::Object(mut fields) = record else {
        return Err(Error::Protocol {
            message: "a record is not an object".into(),
        });
    };
    fields.remove("searchAfter");
    for (from, to) in [("dateAdded", "created_at"), ("dateUpdated", "updated_at")] {
        let stamp = fields.get(from).and_then(Value::as_str).and_then(|text| {
            // Copied as written when it is RFC 3339 already, so it matches the record's own field.
            match DateTime::parse_from_rfc3339(text) {
                Ok(_) => Some(text.to_owned()),
                Err(_) => {
                    parse_time(text).map(|time| time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                }
            }
        });
        if let Some(stamp) = stamp {
            fields.insert(to.to_owned(), Value::String(stamp));
        }
    }
    Ok(Value::Object(fields))
}

/// Decides which records of a time-ordered source were handed out, and moves the cursor.
#[derive(Debug)]
struct TimeTracker {
    cursor: Option<PollCursor>,
    /// `cursor.seen` as a set, for the many lookups of a tie re-read.
    seen: HashSet<String>,
}

impl TimeTracker {
    fn new(cursor: Option<&PollCursor>) -> Self {
        let seen = cursor
            .map(|cursor| cursor.seen.iter().cloned().collect())
            .unwrap_or_default();
        TimeTracker {
            cursor: cursor.cloned(),
            seen,
        }
    }

    /// Records at the cursor's instant that a poll reads again.
    fn tied(&self) -> usize {
        self.seen.len()
    }

    fn handed_out(&self, time: DateTime<Utc>, id: &str) -> bool {
        let Some(cursor) = &self.cursor else {
            return false;
        };
        match time.cmp(&cursor.time) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal if cursor.seen.is_empty() => id <= cursor.id.as_str(),
            std::cmp::Ordering::Equal => self.seen.contains(id),
        }
    }

    /// Records `(time, id)` as handed out; `time` is never before the cursor's (the caller
    /// hands out only what [`TimeTracker::handed_out`] denies, and reads in time order).
    fn hand_out(&mut self, time: DateTime<Utc>, id: String) {
        match &mut self.cursor {
            Some(cursor) if cursor.time == time && cursor.seen.is_empty() => {
                if id > cursor.id {
                    cursor.id = id;
                }
            }
            Some(cursor) if cursor.time == time => {
                cursor.id = id.clone();
                cursor.seen.push(id.clone());
                self.seen.insert(id);
                if cursor.seen.len() > MAX_TIED_IDS {
                    // Too many to list: from here on "ids up to `id`" stands for them.
                    if let Some(highest) = cursor.seen.iter().max() {
                        cursor.id = highest.clone();
                    }
                    cursor.seen.clear();
                    self.seen.clear();
                }
            }
            _ => {
                self.seen = HashSet::from([id.clone()]);
                self.cursor = Some(PollCursor {
                    time,
                    id: id.clone(),
                    seen: vec![id],
                });
            }
        }
    }

    fn into_cursor(self) -> Option<PollCursor> {
        self.cursor
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().unwrap()
    }

    fn record(id: &str, ms: i64) -> Value {
        json!({"id": id, "dateAdded": at(ms).to_rfc3339_opts(SecondsFormat::Millis, true)})
    }

    /// Polls `list` by `limit` until a call hands out nothing, returning the ids in order.
    fn drain(list: &[Value], cursor: &mut Option<PollCursor>, limit: usize) -> Vec<String> {
        let mut ids = Vec::new();
        loop {
            let batch = timed_batch(list.to_vec(), "dateAdded", cursor.as_ref(), limit).unwrap();
            *cursor = batch.cursor;
            if batch.records.is_empty() {
                return ids;
            }
            ids.extend(
                batch
                    .records
                    .iter()
                    .map(|record| record["id"].as_str().unwrap().to_owned()),
            );
        }
    }

    #[test]
    fn ties_across_calls_come_once_and_a_late_tie_is_not_lost() {
        let mut list: Vec<Value> = (0..20)
            .map(|n| record(&format!("m{n:02}"), 1_000))
            .collect();
        list.push(record("z", 999));
        for limit in [1, 3, 7, 50] {
            let mut cursor = None;
            let ids = drain(&list, &mut cursor, limit);
            assert_eq!(ids.len(), 21, "limit {limit}: {ids:?}");
            assert_eq!(ids[0], "z");
            assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 21);
            // Written later at the cursor's instant, with an id sorting before every other.
            let mut later = list.clone();
            later.push(record("a", 1_000));
            assert_eq!(drain(&later, &mut cursor, limit), ["a"], "limit {limit}");
        }
    }

    #[test]
    fn past_the_tie_bound_the_id_order_stands_in() {
        let list: Vec<Value> = (0..MAX_TIED_IDS + 5)
            .map(|n| record(&format!("m{n:05}"), 5))
            .collect();
        let mut cursor = None;
        let ids = drain(&list, &mut cursor, 100);
        assert_eq!(ids.len(), MAX_TIED_IDS + 5);
        let cursor = cursor.unwrap();
        assert!(cursor.seen.is_empty());
        assert_eq!(cursor.id, format!("m{:05}", MAX_TIED_IDS + 4));
        // A legacy (time, id) cursor: only ids after it at its instant are new.
        let mut legacy = Some(PollCursor {
            time: at(5),
            id: "m00010".into(),
            seen: Vec::new(),
        });
        assert_eq!(
            drain(&list, &mut legacy, 1_000_000).len(),
            MAX_TIED_IDS + 5 - 11
        );
    }

    #[test]
    fn records_carry_the_engine_times_and_lose_the_paging_value() {
        let polled = polled_record(json!({
            "id": "c1",
            "dateAdded": "2021-07-02T05:18:26.704Z",
            "dateUpdated": "2021-07-16 11:30:00",
            "searchAfter": [1, "c1"],
            "email": "a@example.com"
        }))
        .unwrap();
        assert_eq!(polled["created_at"], "2021-07-02T05:18:26.704Z");
        assert_eq!(polled["updated_at"], "2021-07-16T11:30:00Z");
        assert_eq!(polled["email"], "a@example.com");
        assert!(polled.get("searchAfter").is_none());
        assert!(record_key(&json!({"id": "x"}), "dateAdded").is_err());
    }

    #[test]
    fn seen_cursors_forget_what_is_gone_and_hand_out_the_rest_in_order() {
        let list = |ids: &[&str]| ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>();
        let first = seen_batch(list(&["a", "b", "c"]), None, 2).unwrap();
        assert_eq!(first.records, list(&["a", "b"]));
        let cursor = first.cursor.unwrap();
        let second = seen_batch(list(&["b", "c", "d"]), Some(&cursor), 5).unwrap();
        assert_eq!(second.records, list(&["c", "d"]));
        assert_eq!(second.cursor.unwrap().seen, ["b", "c", "d"]);
        assert!(seen_batch(list(&[]), None, 5).unwrap().cursor.is_none());
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(checked_limit(None).unwrap(), 100);
        for bad in [0, MAX_LIMIT + 1] {
            let Err(Error::InvalidInput { path, .. }) = checked_limit(Some(bad)) else {
                panic!("{bad} accepted");
            };
            assert_eq!(path, "limit");
        }
    }
}
