//! Samples for building flows: records a person fetched from a poll trigger, captured from a
//! webhook or took from a past run, kept apart from run history so that previews and step tests
//! have real data to work on without touching events, runs or cursors.
//!
//! A webhook capture is a pending row ([`Capture`]): the first event of its source and kinds
//! stored at or after its start and before it expires becomes its sample, once
//! ([`Store::finish_capture`] is a compare-and-set, so two pollers cannot both fill it).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::events::{Event, EventId};
use crate::{Error, Store, json_column, row_id};

row_id!(
    /// A stored sample.
    SampleId
);

row_id!(
    /// A webhook capture.
    CaptureId
);

/// Where a sample came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleSource {
    /// Fetched from a poll trigger's operation.
    Poll,
    /// Captured from a webhook delivery.
    Webhook,
    /// The trigger event of a past run.
    Run,
}

impl SampleSource {
    /// The stored name (`poll`, `webhook`, `run`).
    pub fn as_str(self) -> &'static str {
        match self {
            SampleSource::Poll => "poll",
            SampleSource::Webhook => "webhook",
            SampleSource::Run => "run",
        }
    }

    fn parse(text: &str) -> Result<Self, Error> {
        Ok(match text {
            "poll" => SampleSource::Poll,
            "webhook" => SampleSource::Webhook,
            "run" => SampleSource::Run,
            other => {
                return Err(Error::Corrupt {
                    field: "samples.source",
                    reason: format!("unknown source {other:?}"),
                });
            }
        })
    }
}

/// The step id of a sample of a flow's trigger.
pub const TRIGGER_STEP: &str = "trigger";

/// A stored sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its id.
    pub id: SampleId,
    /// The flow it is a sample of.
    pub flow_id: String,
    /// [`TRIGGER_STEP`] for a trigger record, else the step whose output it stands for.
    pub step_id: String,
    /// Where it came from.
    pub source: SampleSource,
    /// The record.
    pub record: serde_json::Value,
    /// When it was taken, ms since epoch.
    pub taken_at_ms: i64,
}

/// A webhook capture: waiting for the first matching event, or filled with its sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// Its id.
    pub id: CaptureId,
    /// The flow the sample is for.
    pub flow_id: String,
    /// The events' source (`ghl.webhook`).
    pub event_source: String,
    /// The event kinds that count (`ContactCreate`).
    pub kinds: Vec<String>,
    /// Events received at or after this time count, ms since epoch.
    pub since_ms: i64,
    /// Events received at or after this time do not count any more, ms since epoch.
    pub expires_at_ms: i64,
    /// The sample, once an event was captured.
    pub sample_id: Option<SampleId>,
}

const SAMPLE_COLUMNS: &str = "id, flow_id, step_id, source, record, taken_at_ms";
const CAPTURE_COLUMNS: &str =
    "id, flow_id, event_source, kinds, since_ms, expires_at_ms, sample_id";

impl Store {
    /// Stores a sample of `flow_id`'s step `step_id` ([`TRIGGER_STEP`] for the trigger).
    pub async fn add_sample(
        &self,
        flow_id: &str,
        step_id: &str,
        source: SampleSource,
        record: &serde_json::Value,
        taken_at_ms: i64,
    ) -> Result<Sample, Error> {
        let row = sqlx::query(
            "INSERT INTO samples (flow_id, step_id, source, record, taken_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(flow_id)
        .bind(step_id)
        .bind(source.as_str())
        .bind(record.to_string())
        .bind(taken_at_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(Sample {
            id: SampleId(row.try_get("id")?),
            flow_id: flow_id.to_owned(),
            step_id: step_id.to_owned(),
            source,
            record: record.clone(),
            taken_at_ms,
        })
    }

    /// The sample with this id.
    pub async fn sample(&self, id: SampleId) -> Result<Sample, Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SAMPLE_COLUMNS} FROM samples WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "sample",
            name: id.to_string(),
        })?;
        decode_sample(&row)
    }

    /// Up to `limit` samples of `flow_id`, newest first, starting after `before` (the last id of
    /// the previous page) when given.
    pub async fn samples(
        &self,
        flow_id: &str,
        before: Option<SampleId>,
        limit: usize,
    ) -> Result<Vec<Sample>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SAMPLE_COLUMNS} FROM samples WHERE flow_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        )))
        .bind(flow_id)
        .bind(before.map_or(i64::MAX, |id| id.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_sample).collect()
    }

    /// Starts a capture for `flow_id`: the first event of `event_source` with a kind in `kinds`
    /// received in `[since_ms, expires_at_ms)` will become its sample.
    pub async fn start_capture(
        &self,
        flow_id: &str,
        event_source: &str,
        kinds: &[String],
        since_ms: i64,
        expires_at_ms: i64,
    ) -> Result<Capture, Error> {
        let row = sqlx::query(
            "INSERT INTO sample_captures (flow_id, event_source, kinds, since_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(flow_id)
        .bind(event_source)
        .bind(serde_json::Value::from(kinds.to_vec()).to_string())
        .bind(since_ms)
        .bind(expires_at_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(Capture {
            id: CaptureId(row.try_get("id")?),
            flow_id: flow_id.to_owned(),
            event_source: event_source.to_owned(),
            kinds: kinds.to_vec(),
            since_ms,
            expires_at_ms,
            sample_id: None,
        })
    }

    /// The capture with this id.
    pub async fn capture(&self, id: CaptureId) -> Result<Capture, Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CAPTURE_COLUMNS} FROM sample_captures WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "capture",
            name: id.to_string(),
        })?;
        decode_capture(&row)
    }

    /// Fills the capture `id` with a sample of `record` unless it is filled already; answers the
    /// capture as it stands (with the other sample when another caller filled it first).
    pub async fn finish_capture(
        &self,
        id: CaptureId,
        record: &serde_json::Value,
        taken_at_ms: i64,
    ) -> Result<Capture, Error> {
        let capture = self.capture(id).await?;
        if capture.sample_id.is_some() {
            return Ok(capture);
        }
        // The insert comes first so SQLite takes the write lock before anything is read; a
        // capture filled meanwhile rolls the insert back.
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO samples (flow_id, step_id, source, record, taken_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&capture.flow_id)
        .bind(TRIGGER_STEP)
        .bind(SampleSource::Webhook.as_str())
        .bind(record.to_string())
        .bind(taken_at_ms)
        .fetch_one(&mut *transaction)
        .await?;
        let sample_id: i64 = row.try_get("id")?;
        let updated = sqlx::query(
            "UPDATE sample_captures SET sample_id = $2 WHERE id = $1 AND sample_id IS NULL",
        )
        .bind(id.0)
        .bind(sample_id)
        .execute(&mut *transaction)
        .await?;
        if updated.rows_affected() == 1 {
            transaction.commit().await?;
        } else {
            transaction.rollback().await?;
        }
        self.capture(id).await
    }

    /// The first event of `source` whose kind is one of `kinds`, received at or after
    /// `since_ms` and before `until_ms`, in the order received.
    pub async fn first_event_after(
        &self,
        source: &str,
        kinds: &[String],
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Option<Event>, Error> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let placeholders = (0..kinds.len())
            .map(|index| format!("${}", index + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT id FROM events WHERE source = $1 AND received_at_ms >= $2 \
             AND received_at_ms < $3 AND kind IN ({placeholders}) \
             ORDER BY received_at_ms, id LIMIT 1"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(source)
            .bind(since_ms)
            .bind(until_ms);
        for kind in kinds {
            query = query.bind(kind);
        }
        match query.fetch_optional(&self.pool).await? {
            Some(row) => Ok(Some(self.event(EventId(row.try_get("id")?)).await?)),
            None => Ok(None),
        }
    }
}

fn decode_sample(row: &AnyRow) -> Result<Sample, Error> {
    let source: String = row.try_get("source")?;
    Ok(Sample {
        id: SampleId(row.try_get("id")?),
        flow_id: row.try_get("flow_id")?,
        step_id: row.try_get("step_id")?,
        source: SampleSource::parse(&source)?,
        record: json_column(row, "record")?,
        taken_at_ms: row.try_get("taken_at_ms")?,
    })
}

fn decode_capture(row: &AnyRow) -> Result<Capture, Error> {
    let kinds = json_column(row, "kinds")?;
    let kinds = serde_json::from_value(kinds).map_err(|error| Error::Corrupt {
        field: "sample_captures.kinds",
        reason: error.to_string(),
    })?;
    Ok(Capture {
        id: CaptureId(row.try_get("id")?),
        flow_id: row.try_get("flow_id")?,
        event_source: row.try_get("event_source")?,
        kinds,
        since_ms: row.try_get("since_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        sample_id: row.try_get::<Option<i64>, _>("sample_id")?.map(SampleId),
    })
}
