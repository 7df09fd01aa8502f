//! Polling for new or changed records with a durable cursor: the time field and id of the last
//! record handed out.
//!
//! A poll asks for records at or after the cursor's time (`updated_since` / `created_since`,
//! inclusive, so records sharing the cursor's timestamp are not lost), which the service sorts by
//! (time, id); every record at or before the cursor in that order was handed out before and is
//! dropped. Records with equal timestamps across a page boundary therefore come out once each,
//! and a poll cut short by `max_records` resumes exactly after its last record.
//!
//! The first poll (no cursor) starts at the Unix epoch, so it reads the whole resource in
//! (time, id) order.

use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, pin_mut};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_core::manifest::TriggerKind;

use super::paging::ListQuery;
use super::{Error, RestApp};

/// Where a poll resumes: the last record handed out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PollCursor {
    /// Its time field (created or updated, by trigger).
    pub time: DateTime<Utc>,
    /// Its id.
    pub id: String,
}

impl PollCursor {
    /// Decodes a cursor from JSON (`{"time": "…", "id": "…"}`), naming the bad field.
    pub fn from_json(value: &Value) -> Result<Self, Error> {
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            Error::input(
                format!("cursor.{path}").trim_end_matches(".."),
                error.into_inner().to_string(),
            )
        })
    }
}

/// One poll's result.
#[derive(Debug, Clone, PartialEq)]
pub struct PollBatch {
    /// Records after the cursor, in (time, id) order.
    pub records: Vec<Value>,
    /// Where the next poll resumes: the last record's, or the given cursor when nothing came.
    pub cursor: Option<PollCursor>,
}

impl RestApp {
    /// Up to `max_records` records of `resource` created (`New`) or changed (`Updated`) after
    /// `cursor`, in (time, id) order, each once.
    pub async fn poll(
        &self,
        resource: &str,
        trigger: TriggerKind,
        cursor: Option<&PollCursor>,
        max_records: usize,
    ) -> Result<PollBatch, Error> {
        let declared = self.resource(resource)?;
        let field = declared
            .poll_field(trigger)
            .filter(|_| declared.triggers.contains(&trigger))
            .ok_or_else(|| {
                Error::UnknownOperation(format!(
                    "{}.{resource}.{}",
                    self.manifest.app,
                    trigger.as_str()
                ))
            })?
            .to_owned();
        let id_field = declared.id_field.clone();
        let param = match trigger {
            TriggerKind::New => "created_since",
            TriggerKind::Updated => "updated_since",
        };
        let since = cursor.map_or(DateTime::<Utc>::UNIX_EPOCH, |cursor| cursor.time);
        let query = ListQuery {
            filters: vec![(
                param.to_owned(),
                since.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            )],
            page_size: None,
        };
        let stream = self.list_stream(resource, query);
        pin_mut!(stream);
        let mut records = Vec::new();
        let mut last: Option<PollCursor> = None;
        while records.len() < max_records {
            let Some(record) = stream.next().await else {
                break;
            };
            let record = record?;
            let key = record_key(&record, &field, &id_field)?;
            if last.as_ref().is_some_and(|last| key < *last) {
                // Dropping by cursor is only sound when the service keeps the order it promises.
                return Err(Error::Protocol(format!(
                    "{resource} records are not in ({field}, {id_field}) order at {}",
                    key.id
                )));
            }
            let seen = cursor.is_some_and(|cursor| key <= *cursor);
            last = Some(key);
            if !seen {
                records.push(record);
            }
        }
        let next = match records.last() {
            Some(record) => Some(record_key(record, &field, &id_field)?),
            None => cursor.cloned(),
        };
        Ok(PollBatch {
            records,
            cursor: next,
        })
    }
}

fn record_key(record: &Value, field: &str, id_field: &str) -> Result<PollCursor, Error> {
    let id = record
        .get(id_field)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Protocol(format!("a record has no string `{id_field}`")))?;
    let time = record
        .get(field)
        .and_then(Value::as_str)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .ok_or_else(|| Error::Protocol(format!("record {id} has no RFC 3339 `{field}`")))?;
    Ok(PollCursor {
        time: time.with_timezone(&Utc),
        id: id.to_owned(),
    })
}
