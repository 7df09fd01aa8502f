//! Polling triggers with durable cursors, in the contract the engine's poller uses: input
//! `{"cursor": <ours or null>, "limit": n, …params}`, output `{"records": [...], "cursor": …}`,
//! each record carrying `id`, `created_at` and `updated_at` (RFC 3339) so the event key
//! `<id>@<time>` names one version of one record.
//!
//! **Time-ordered triggers** (`photo.new` by upload date, `photo.updated` by last update,
//! `comment.new` by comment date, `photoset.updated` by the album's last change) keep a [`TimeCursor`]: the time of the last record handed out
//! and the `id@time` keys handed out within [`OVERLAP_SECS`] before it. A poll asks Flickr for
//! everything from `since − OVERLAP_SECS` (Flickr's date filters are inclusive and whole
//! seconds, and several records share a second), reads every page, drops keys already handed
//! out, sorts by (time, id) and hands out at most `limit`. Records sharing a timestamp across a
//! page boundary, or across a poll cut short by `limit`, therefore come out once each; a record
//! that becomes visible a little late (within the overlap) is still reported. All pages are read
//! before choosing because Flickr lists newest first: the oldest unseen records are on the last
//! page, and only a complete read can hand them out first.
//!
//! **Membership triggers** (`photoset.photo.new`, `contact.new`) have no usable date: a photo's
//! upload date says nothing of when it joined an album, and contacts carry no date at all. Their
//! [`SetCursor`] keeps the ids already reported; a poll lists the album or the contacts and
//! reports the ones it does not know, in list order. An album whose `date_update` and photo count
//! have not changed is not listed again. A contact's `created_at` is the time of the previous
//! check (the contact appeared after it), which is fixed by the cursor, so a poll repeated from
//! the same cursor (after a crash) produces the same event keys.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::contacts::ContactListQuery;
use super::models::PhotoSummary;
use super::people::UserPhotosQuery;
use super::photos::RecentlyUpdatedQuery;
use super::photosets::{PhotosetListQuery, PhotosetPhotosQuery};
use super::{Error, FlickrClient, PhotoId, PhotosetId, UserId};

/// How far before its cursor a time-ordered poll reads again.
pub const OVERLAP_SECS: i64 = 120;

/// Records handed out per poll when the input names no limit.
pub const DEFAULT_LIMIT: usize = 100;

/// Photo extras every photo trigger asks for, so records carry their dates and text.
pub const PHOTO_EXTRAS: &[&str] = &[
    "date_upload",
    "last_update",
    "date_taken",
    "owner_name",
    "description",
    "tags",
    "machine_tags",
    "media",
    "url_m",
];

/// Where a time-ordered trigger resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimeCursor {
    /// The time of the last record handed out (Unix seconds).
    pub since: i64,
    /// `id@time` of records handed out at or after `since − OVERLAP_SECS`.
    #[serde(default)]
    pub seen: Vec<String>,
}

/// Where a membership trigger resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SetCursor {
    /// When the previous poll listed the members (Unix seconds).
    pub checked_at: i64,
    /// Ids already reported (and still members).
    #[serde(default)]
    pub known: Vec<String>,
    /// The album's `date_update:count` when every member was reported; a poll finding the same
    /// need not list it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A poll's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PollOutput {
    /// New records, each with `id`, `created_at` and `updated_at`.
    pub records: Vec<Value>,
    /// Where the next poll resumes (pass it back as `cursor`).
    pub cursor: Value,
}

/// A record found by a poll, before the cursor decides whether it is new.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Its id.
    pub id: String,
    /// Its ordering time (Unix seconds).
    pub time: i64,
    /// The record to hand out.
    pub record: Value,
}

fn key(id: &str, time: i64) -> String {
    format!("{id}@{time}")
}

/// The time of a `seen` key (after its last `@`: NSIDs contain `@` themselves).
fn key_time(key: &str) -> Option<i64> {
    key.rsplit_once('@')?.1.parse().ok()
}

/// Chooses what a time-ordered poll hands out: records not handed out before, by (time, id),
/// at most `limit`; and the cursor after them. See the module docs.
pub fn select_by_time(
    found: Vec<Found>,
    cursor: &TimeCursor,
    limit: usize,
) -> (Vec<Value>, TimeCursor) {
    let floor = cursor.since - OVERLAP_SECS;
    let seen: BTreeSet<&str> = cursor.seen.iter().map(String::as_str).collect();
    let mut fresh: BTreeMap<(i64, String), Value> = BTreeMap::new();
    for found in found {
        if found.time < floor || seen.contains(key(&found.id, found.time).as_str()) {
            continue;
        }
        fresh.entry((found.time, found.id)).or_insert(found.record);
    }
    let taken: Vec<((i64, String), Value)> = fresh.into_iter().take(limit.max(1)).collect();
    let Some(((last_time, _), _)) = taken.last() else {
        return (Vec::new(), cursor.clone());
    };
    let since = cursor.since.max(*last_time);
    let mut keys: BTreeSet<String> = cursor.seen.iter().cloned().collect();
    keys.extend(taken.iter().map(|((time, id), _)| key(id, *time)));
    let seen = keys
        .into_iter()
        .filter(|key| key_time(key).is_some_and(|time| time >= since - OVERLAP_SECS))
        .collect();
    let records = taken.into_iter().map(|(_, record)| record).collect();
    (records, TimeCursor { since, seen })
}

/// RFC 3339 of Unix seconds (whole seconds, `Z`).
pub fn rfc3339(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn now_seconds() -> i64 {
    Utc::now().timestamp()
}

/// A record's JSON with the fields the engine reads put in place.
fn stamped(mut record: Value, id: &str, created: i64, updated: i64) -> Value {
    if let Value::Object(fields) = &mut record {
        fields.insert("id".into(), Value::String(id.to_owned()));
        fields.insert("created_at".into(), Value::String(rfc3339(created)));
        fields.insert("updated_at".into(), Value::String(rfc3339(updated)));
    }
    record
}

fn photo_record(photo: &PhotoSummary) -> Result<(Value, i64, i64), Error> {
    let uploaded = photo.dateupload.ok_or_else(|| Error::Protocol {
        message: format!("photo {} came without its upload date", photo.id),
    })?;
    let updated = photo.lastupdate.unwrap_or(uploaded);
    let value = serde_json::to_value(photo).map_err(Error::Encode)?;
    Ok((
        stamped(value, photo.id.as_str(), uploaded, updated),
        uploaded,
        updated,
    ))
}

fn extras() -> Option<Vec<String>> {
    Some(
        PHOTO_EXTRAS
            .iter()
            .map(|extra| (*extra).to_owned())
            .collect(),
    )
}

/// Reads a cursor, naming the bad field; `null` is the start.
pub fn decode_cursor<C: Default + serde::de::DeserializeOwned>(
    cursor: Option<&Value>,
) -> Result<C, Error> {
    match cursor {
        None | Some(Value::Null) => Ok(C::default()),
        Some(value) => serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            Error::input(
                if path == "." {
                    "cursor".to_owned()
                } else {
                    format!("cursor.{path}")
                },
                error.into_inner().to_string(),
            )
        }),
    }
}

fn output<C: Serialize>(records: Vec<Value>, cursor: &C) -> Result<PollOutput, Error> {
    Ok(PollOutput {
        records,
        cursor: serde_json::to_value(cursor).map_err(Error::Encode)?,
    })
}

/// `flickr.photo.new`: photos `user_id` (default `me`) uploaded since the cursor, by upload
/// time (`people.getPhotos` with `min_upload_date`).
pub async fn new_photos(
    client: &FlickrClient,
    cursor: Option<&Value>,
    limit: usize,
    user_id: Option<&UserId>,
) -> Result<PollOutput, Error> {
    let cursor: TimeCursor = decode_cursor(cursor)?;
    let query = UserPhotosQuery {
        user_id: user_id.cloned().unwrap_or_else(|| UserId::new("me")),
        min_upload_date: Some((cursor.since - OVERLAP_SECS).max(0)),
        extras: extras(),
        ..UserPhotosQuery::default()
    };
    let photos: Vec<PhotoSummary> = client
        .people()
        .get_photos_stream(query)
        .try_collect()
        .await?;
    let mut found = Vec::with_capacity(photos.len());
    for photo in &photos {
        let (record, uploaded, _) = photo_record(photo)?;
        found.push(Found {
            id: photo.id.to_string(),
            time: uploaded,
            record,
        });
    }
    let (records, next) = select_by_time(found, &cursor, limit);
    output(records, &next)
}

/// `flickr.photo.updated`: the connection's photos changed since the cursor (title,
/// description, tags, and anything else Flickr counts: `photos.recentlyUpdated`), by last update.
pub async fn updated_photos(
    client: &FlickrClient,
    cursor: Option<&Value>,
    limit: usize,
) -> Result<PollOutput, Error> {
    let cursor: TimeCursor = decode_cursor(cursor)?;
    let photos = recently_updated(client, cursor.since).await?;
    let mut found = Vec::with_capacity(photos.len());
    for photo in &photos {
        let (record, _, updated) = photo_record(photo)?;
        found.push(Found {
            id: photo.id.to_string(),
            time: updated,
            record,
        });
    }
    let (records, next) = select_by_time(found, &cursor, limit);
    output(records, &next)
}

async fn recently_updated(client: &FlickrClient, since: i64) -> Result<Vec<PhotoSummary>, Error> {
    let query = RecentlyUpdatedQuery {
        // Flickr requires a date; 1 is "since the beginning" without looking like a missing one.
        min_date: (since - OVERLAP_SECS).max(1),
        extras: extras(),
        ..RecentlyUpdatedQuery::default()
    };
    client
        .photos()
        .recently_updated_stream(query)
        .try_collect()
        .await
}

/// `flickr.comment.new`: comments written since the cursor on the connection's photos. A new
/// comment updates its photo's `lastupdate`, so the photos changed since the cursor are the only
/// ones whose comments need reading.
pub async fn new_comments(
    client: &FlickrClient,
    cursor: Option<&Value>,
    limit: usize,
) -> Result<PollOutput, Error> {
    let cursor: TimeCursor = decode_cursor(cursor)?;
    let floor = (cursor.since - OVERLAP_SECS).max(0);
    let photos = recently_updated(client, cursor.since).await?;
    let mut found = Vec::new();
    for photo in &photos {
        let list = client.comments().list(&photo.id, Some(floor), None).await?;
        for comment in list.comments {
            let mut record = serde_json::to_value(&comment).map_err(Error::Encode)?;
            if let Value::Object(fields) = &mut record {
                fields.insert("photo_id".into(), json!(photo.id));
                fields.insert("photo_title".into(), json!(photo.title));
            }
            found.push(Found {
                id: comment.id.to_string(),
                time: comment.datecreate,
                record: stamped(
                    record,
                    comment.id.as_str(),
                    comment.datecreate,
                    comment.datecreate,
                ),
            });
        }
    }
    let (records, next) = select_by_time(found, &cursor, limit);
    output(records, &next)
}

/// `flickr.photoset.photo.new`: photos of an album not reported before, in the album's order.
pub async fn new_photoset_photos(
    client: &FlickrClient,
    cursor: Option<&Value>,
    limit: usize,
    photoset_id: &PhotosetId,
    user_id: Option<&UserId>,
) -> Result<PollOutput, Error> {
    let cursor: SetCursor = decode_cursor(cursor)?;
    let checked_at = now_seconds();
    let info = client.photosets().get_info(photoset_id, user_id).await?;
    let version = format!("{}:{}", info.date_update, info.photos + info.videos);
    if cursor.version.as_deref() == Some(version.as_str()) {
        return output(Vec::new(), &cursor);
    }
    let query = PhotosetPhotosQuery {
        photoset_id: photoset_id.clone(),
        user_id: user_id.cloned(),
        extras: extras(),
        privacy_filter: None,
        media: None,
        per_page: None,
        page: None,
    };
    let photos: Vec<PhotoSummary> = client
        .photosets()
        .get_photos_stream(query)
        .try_collect()
        .await?;
    let members: BTreeSet<&str> = photos.iter().map(|photo| photo.id.as_str()).collect();
    let known: BTreeSet<&str> = cursor.known.iter().map(String::as_str).collect();
    let mut reported: BTreeSet<PhotoId> = BTreeSet::new();
    let mut records = Vec::new();
    for photo in &photos {
        if known.contains(photo.id.as_str()) || reported.contains(&photo.id) {
            continue;
        }
        if records.len() >= limit.max(1) {
            break;
        }
        let (mut record, _, _) = photo_record(photo)?;
        if let Value::Object(fields) = &mut record {
            fields.insert("photoset_id".into(), json!(photoset_id));
        }
        reported.insert(photo.id.clone());
        records.push(record);
    }
    let pending = photos
        .iter()
        .any(|photo| !known.contains(photo.id.as_str()) && !reported.contains(&photo.id));
    let mut next_known: Vec<String> = cursor
        .known
        .iter()
        .filter(|id| members.contains(id.as_str()))
        .cloned()
        .collect();
    next_known.extend(reported.iter().map(ToString::to_string));
    next_known.sort();
    next_known.dedup();
    let next = SetCursor {
        checked_at,
        known: next_known,
        // Only a poll that reported every member may let the next one skip the listing.
        version: (!pending).then_some(version),
    };
    if records.is_empty() && next.known == cursor.known && next.version == cursor.version {
        return output(records, &cursor);
    }
    output(records, &next)
}

/// `flickr.photoset.updated`: albums of `user_id` (default the connection's user) created or
/// changed since the cursor (title, description, photos added or removed), by `date_update`
/// (`photosets.getList`, every page: albums come in the user's order, not by date).
pub async fn updated_photosets(
    client: &FlickrClient,
    cursor: Option<&Value>,
    limit: usize,
    user_id: Option<&UserId>,
) -> Result<PollOutput, Error> {
    let cursor: TimeCursor = decode_cursor(cursor)?;
    let query = PhotosetListQuery {
        user_id: user_id.cloned(),
        ..PhotosetListQuery::default()
    };
    let sets: Vec<super::models::Photoset> =
        client.photosets().list_stream(query).try_collect().await?;
    // `getList` names no owner; the flows writing an album's owner need it.
    let owner = user_id.or(client.user()).map(ToString::to_string);
    let mut found = Vec::with_capacity(sets.len());
    for set in &sets {
        let mut record = serde_json::to_value(set).map_err(Error::Encode)?;
        if let (Value::Object(fields), Some(owner)) = (&mut record, &owner)
            && fields.get("owner").is_none_or(Value::is_null)
        {
            fields.insert("owner".into(), json!(owner));
        }
        found.push(Found {
            id: set.id.to_string(),
            time: set.date_update,
            record: stamped(record, set.id.as_str(), set.date_create, set.date_update),
        });
    }
    let (records, next) = select_by_time(found, &cursor, limit);
    output(records, &next)
}

/// `flickr.contact.new`: contacts of the connection's user not reported before, most recently
/// added last (`contacts.getList` sorted by time).
pub async fn new_contacts(
    client: &FlickrClient,
    cursor: Option<&Value>,
    limit: usize,
    filter: Option<&str>,
) -> Result<PollOutput, Error> {
    let cursor: SetCursor = decode_cursor(cursor)?;
    let checked_at = now_seconds();
    let query = ContactListQuery {
        filter: filter.map(str::to_owned),
        sort: Some("time".into()),
        per_page: None,
        page: None,
    };
    let contacts: Vec<super::models::Contact> =
        client.contacts().list_stream(query).try_collect().await?;
    let members: BTreeSet<&str> = contacts
        .iter()
        .map(|contact| contact.nsid.as_str())
        .collect();
    let known: BTreeSet<&str> = cursor.known.iter().map(String::as_str).collect();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut records = Vec::new();
    for contact in &contacts {
        let id = contact.nsid.as_str();
        if known.contains(id) || reported.contains(id) {
            continue;
        }
        if records.len() >= limit.max(1) {
            break;
        }
        let record = serde_json::to_value(contact).map_err(Error::Encode)?;
        records.push(stamped(record, id, cursor.checked_at, cursor.checked_at));
        reported.insert(id.to_owned());
    }
    let mut next_known: Vec<String> = cursor
        .known
        .iter()
        .filter(|id| members.contains(id.as_str()))
        .cloned()
        .collect();
    next_known.extend(reported);
    next_known.sort();
    next_known.dedup();
    if records.is_empty() && next_known == cursor.known {
        // Nothing changed: the same cursor tells the poller there is nothing more to read.
        return output(records, &cursor);
    }
    output(
        records,
        &SetCursor {
            checked_at,
            known: next_known,
            version: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str, time: i64) -> Found {
        Found {
            id: id.into(),
            time,
            record: json!({"id": id, "time": time}),
        }
    }

    fn ids(records: &[Value]) -> Vec<String> {
        records
            .iter()
            .map(|record| record["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn equal_timestamps_across_polls_come_out_once_each() {
        // Five records in one second, handed out two at a time.
        let all: Vec<Found> = ["e", "d", "c", "b", "a"]
            .iter()
            .map(|id| found(id, 1_000))
            .collect();
        let mut cursor = TimeCursor::default();
        let mut out = Vec::new();
        for _ in 0..4 {
            let (records, next) = select_by_time(all.clone(), &cursor, 2);
            out.extend(ids(&records));
            cursor = next;
        }
        assert_eq!(out, vec!["a", "b", "c", "d", "e"]);
        assert_eq!(cursor.since, 1_000);
        let (records, again) = select_by_time(all, &cursor, 2);
        assert!(records.is_empty());
        assert_eq!(again, cursor, "nothing new keeps the cursor");
    }

    #[test]
    fn late_records_within_the_overlap_are_still_reported() {
        let (records, cursor) = select_by_time(vec![found("a", 1_000)], &TimeCursor::default(), 10);
        assert_eq!(ids(&records), vec!["a"]);
        // "b" became visible after the first poll though it was uploaded before "a".
        let (records, cursor) = select_by_time(
            vec![found("b", 990), found("a", 1_000), found("c", 1_001)],
            &cursor,
            10,
        );
        assert_eq!(ids(&records), vec!["b", "c"]);
        assert_eq!(cursor.since, 1_001);
        // Keys older than the overlap are forgotten.
        let (_, cursor) = select_by_time(vec![found("z", 1_000 + OVERLAP_SECS + 5)], &cursor, 10);
        assert_eq!(cursor.seen, vec![format!("z@{}", 1_000 + OVERLAP_SECS + 5)]);
    }

    #[test]
    fn an_update_is_a_new_version() {
        let (_, cursor) = select_by_time(vec![found("p", 100)], &TimeCursor::default(), 10);
        let (records, _) = select_by_time(vec![found("p", 100), found("p", 105)], &cursor, 10);
        assert_eq!(records, vec![json!({"id": "p", "time": 105})]);
    }

    #[test]
    fn nsids_with_at_signs_keep_their_times() {
        assert_eq!(key_time("12037949754@N01@1700000000"), Some(1_700_000_000));
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn cursors_are_decoded_with_their_path() {
        let bad = decode_cursor::<TimeCursor>(Some(&json!({"since": "soon"})));
        let Err(Error::InvalidInput { path, .. }) = bad else {
            panic!("{bad:?}");
        };
        assert_eq!(path, "cursor.since");
        assert_eq!(
            decode_cursor::<SetCursor>(None).unwrap(),
            SetCursor::default()
        );
    }
}
