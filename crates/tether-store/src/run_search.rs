//! Finding and reading runs: search by flow, status, time and the records a run touched, newest
//! first with keyset pagination on the run id; the links a run wrote; the runs changed since a
//! point (live run events); and bulk seeding for benchmarks.
//!
//! Every query here reads an index and sorts nothing (see the plan test below), so a page costs
//! the same at 10,000 runs as at 1,000,000, however deep the cursor.

use sqlx::Row;

use crate::links::Link;
use crate::runs::{Run, RunId, RunStatus, StepResult, decode_run, decode_step};
use crate::{Backend, Error, Store, now_ms};

/// Which runs a search answers. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Runs of this flow.
    pub flow_id: Option<String>,
    /// Runs in this status.
    pub status: Option<RunStatus>,
    /// Runs created at or after this time, ms since epoch.
    pub since_ms: Option<i64>,
    /// Runs created before this time, ms since epoch.
    pub until_ms: Option<i64>,
    /// Runs that touched this record: a record id, or an e-mail address (any case).
    pub record: Option<String>,
    /// Runs older than this one (the keyset cursor: the last run of the previous page).
    pub before: Option<RunId>,
}

/// A link as one run wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLink {
    /// The action step that wrote it.
    pub step_id: String,
    /// The source app (`ghl`).
    pub source_app: String,
    /// The source record type (`contact`).
    pub source_type: String,
    /// The source record id.
    pub source_id: String,
    /// The target app (`details_flowers`).
    pub target_app: String,
    /// The target record type (`customer`).
    pub target_type: String,
    /// The target record id.
    pub target_id: String,
    /// When the run wrote it, ms since epoch.
    pub written_at_ms: i64,
}

/// What a run list shows beside a run ([`Store::run_facts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFacts {
    /// The record a person knows the run by: an e-mail address it touched when there is one,
    /// else the first record id.
    pub record: Option<String>,
    record_is_email: bool,
    /// The step whose attempt failed last, when one failed.
    pub failed_step: Option<String>,
}

/// What [`Store::seed_runs`] makes: `runs` finished runs over `runs / flows` events, each event's
/// runs spread over `flows` flows named `flow-0` …, each event's record `contact-<n>` with e-mail
/// `person<n>@example.com`, and a three-step journal for every `journal_every`-th run.
#[derive(Debug, Clone, Copy)]
pub struct Seed {
    /// How many runs.
    pub runs: u64,
    /// How many flows (each event has one run per flow).
    pub flows: u64,
    /// One run in this many gets a journal (0: none).
    pub journal_every: u64,
    /// Rows per transaction.
    pub batch: u64,
}

impl Store {
    /// One page of runs matching `filter`, newest first: at most `limit` runs, all older than
    /// `filter.before`. The caller asks for one more than it shows to learn whether a next page
    /// exists.
    pub async fn search_runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<Run>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // A time range becomes a range of run ids (ids grow with creation), read from
        // `runs_by_creation`, so the page itself walks an id-ordered index; the time condition
        // stays in the query, so the answer is exact.
        let mut lowest: Option<i64> = None;
        let mut highest: Option<i64> = filter.before.map(|before| before.0 - 1);
        if let Some(since) = filter.since_ms {
            let first = sqlx::query(
                "SELECT id FROM runs WHERE created_at_ms >= $1 ORDER BY created_at_ms, id LIMIT 1",
            )
            .bind(since)
            .fetch_optional(&self.pool)
            .await?;
            match first {
                Some(row) => lowest = Some(row.try_get("id")?),
                None => return Ok(Vec::new()),
            }
        }
        if let Some(until) = filter.until_ms {
            let last = sqlx::query(
                "SELECT id FROM runs WHERE created_at_ms < $1 \
                 ORDER BY created_at_ms DESC, id DESC LIMIT 1",
            )
            .bind(until)
            .fetch_optional(&self.pool)
            .await?;
            match last {
                Some(row) => {
                    let id: i64 = row.try_get("id")?;
                    highest = Some(highest.map_or(id, |high| high.min(id)));
                }
                None => return Ok(Vec::new()),
            }
        }
        let (sql, binds) = search_query(self.backend, filter, lowest, highest, limit);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(number) => query.bind(number),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(decode_run).collect()
    }

    /// Makes run `run_id`, waiting for its next attempt, due now; answers whether it was
    /// waiting (a run in any other status is left alone).
    pub async fn retry_run_now(&self, run_id: RunId) -> Result<bool, Error> {
        let now = now_ms();
        let result = sqlx::query(
            "UPDATE runs SET next_attempt_at_ms = $1, updated_at_ms = $1 \
             WHERE id = $2 AND status = 'retry'",
        )
        .bind(now)
        .bind(run_id.0)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The journal row `row` of run `run_id`.
    pub async fn journal_row(&self, run_id: RunId, row: i64) -> Result<StepResult, Error> {
        let found = sqlx::query(
            "SELECT id, run_id, step_id, attempt, status, output, recorded_at_ms, input, \
             duration_ms FROM run_steps WHERE id = $1 AND run_id = $2",
        )
        .bind(row)
        .bind(run_id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "journal row",
            name: format!("{row} of run {run_id}"),
        })?;
        decode_step(&found)
    }

    /// Remembers that run `run_id`'s step `step_id` wrote `link`: for the run's detail, and so a
    /// search by the target record finds the run.
    pub async fn record_run_link(
        &self,
        run_id: RunId,
        step_id: &str,
        link: &Link,
    ) -> Result<(), Error> {
        let mut transaction = self.pool.begin().await?;
        insert_run_link(&mut transaction, run_id, step_id, link).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// [`Store::upsert_link`] and [`Store::record_run_link`] in one transaction: the link of
    /// an action and the run's record of writing it commit together (one commit per written
    /// record on the hot path, not two). The run's record is kept only when the link was written.
    pub async fn upsert_link_for_run(
        &self,
        link: &Link,
        expect: crate::LinkExpect<'_>,
        run_id: RunId,
        step_id: &str,
    ) -> Result<bool, Error> {
        let mut transaction = self.pool.begin().await?;
        let written = crate::links::upsert_link_on(&mut transaction, link, expect).await?;
        if written {
            insert_run_link(&mut transaction, run_id, step_id, link).await?;
        }
        transaction.commit().await?;
        Ok(written)
    }

    /// What a list of runs shows beside each run, for the runs `ids` (a page): the record a
    /// person knows it by (an e-mail address it touched, else the first record) and the step
    /// that failed last. Two queries over `run_records_by_run` and `run_steps_by_run`, whatever
    /// the page's size.
    pub async fn run_facts(
        &self,
        ids: &[RunId],
    ) -> Result<std::collections::HashMap<RunId, RunFacts>, Error> {
        let mut facts: std::collections::HashMap<RunId, RunFacts> =
            std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(facts);
        }
        let placeholders = (1..=ids.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let records_sql = format!(
            "SELECT run_id, record FROM run_records WHERE run_id IN ({placeholders}) \
             ORDER BY run_id, record"
        );
        let mut records = sqlx::query(sqlx::AssertSqlSafe(records_sql));
        for id in ids {
            records = records.bind(id.0);
        }
        for row in records.fetch_all(&self.pool).await? {
            let run = RunId(row.try_get("run_id")?);
            let record: String = row.try_get("record")?;
            let fact = facts.entry(run).or_default();
            let is_email = record.contains('@');
            if fact.record.is_none() || (is_email && !fact.record_is_email) {
                fact.record = Some(record);
                fact.record_is_email = is_email;
            }
        }
        let failed_sql = format!(
            "SELECT run_id, step_id FROM run_steps WHERE run_id IN ({placeholders}) \
             AND status = 'failed' ORDER BY run_id, id"
        );
        let mut failed = sqlx::query(sqlx::AssertSqlSafe(failed_sql));
        for id in ids {
            failed = failed.bind(id.0);
        }
        for row in failed.fetch_all(&self.pool).await? {
            let run = RunId(row.try_get("run_id")?);
            facts.entry(run).or_default().failed_step = Some(row.try_get("step_id")?);
        }
        Ok(facts)
    }

    /// The links run `run_id` wrote, in the order it wrote them.
    pub async fn run_links(&self, run_id: RunId) -> Result<Vec<RunLink>, Error> {
        let rows = sqlx::query(
            "SELECT step_id, source_app, source_type, source_id, target_app, target_type, \
             target_id, written_at_ms FROM run_links WHERE run_id = $1 ORDER BY id",
        )
        .bind(run_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RunLink {
                    step_id: row.try_get("step_id")?,
                    source_app: row.try_get("source_app")?,
                    source_type: row.try_get("source_type")?,
                    source_id: row.try_get("source_id")?,
                    target_app: row.try_get("target_app")?,
                    target_type: row.try_get("target_type")?,
                    target_id: row.try_get("target_id")?,
                    written_at_ms: row.try_get("written_at_ms")?,
                })
            })
            .collect()
    }

    /// Runs changed after `(after_ms, after_id)` in the order they changed (time, then id), at
    /// most `limit`: how live run events follow the store, across processes.
    pub async fn runs_changed_since(
        &self,
        after_ms: i64,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<Run>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(RUNS_CHANGED_SINCE)
            .bind(after_ms)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_run).collect()
    }

    /// Fills the store with finished runs, fast (batched inserts in transactions), for
    /// benchmarks; see [`Seed`]. Answers the id of the last run made.
    pub async fn seed_runs(&self, seed: Seed) -> Result<RunId, Error> {
        let flows = seed.flows.max(1);
        let batch_events = (seed.batch.max(flows) / flows).max(1);
        let events = seed.runs.div_ceil(flows);
        let now = now_ms();
        let mut made = 0u64;
        let mut last = RunId(0);
        let mut event = 0u64;
        while event < events {
            let mut transaction = self.pool.begin().await?;
            let end = (event + batch_events).min(events);
            for n in event..end {
                let payload = serde_json::json!({
                    "type": "ContactUpdate",
                    "id": format!("contact-{n}"),
                    "email": format!("person{n}@example.com"),
                    "firstName": "Seeded",
                });
                let at = now - i64::try_from(events - n).unwrap_or(0);
                let row = sqlx::query(
                    "INSERT INTO events (source, event_key, kind, payload, received_at_ms) \
                     VALUES ('ghl.webhook', $1, 'ContactUpdate', $2, $3) RETURNING id",
                )
                .bind(format!("seed-{n}-{now}"))
                .bind(payload.to_string())
                .bind(at)
                .fetch_one(&mut *transaction)
                .await?;
                let event_id: i64 = row.try_get("id")?;
                for flow in 0..flows {
                    if made == seed.runs {
                        break;
                    }
                    made += 1;
                    let row = sqlx::query(
                        "INSERT INTO runs (flow_id, flow_version, event_id, replay_of, status, \
                         attempts, next_attempt_at_ms, created_at_ms, updated_at_ms) \
                         VALUES ($1, 1, $2, 0, 'done', 1, $3, $3, $3) RETURNING id",
                    )
                    .bind(format!("flow-{flow}"))
                    .bind(event_id)
                    .bind(at)
                    .fetch_one(&mut *transaction)
                    .await?;
                    last = RunId(row.try_get("id")?);
                    for record in [format!("contact-{n}"), format!("person{n}@example.com")] {
                        insert_run_record(&mut transaction, last, "ghl", &record).await?;
                    }
                    if seed.journal_every > 0 && made.is_multiple_of(seed.journal_every) {
                        for step in ["only-with-email", "customer", "upsert"] {
                            sqlx::query(
                                "INSERT INTO run_steps (run_id, step_id, attempt, status, \
                                 output, recorded_at_ms, input, duration_ms) \
                                 VALUES ($1, $2, 1, 'ok', $3, $4, $5, 3)",
                            )
                            .bind(last.0)
                            .bind(step)
                            .bind(r#"{"id":"df-1","email":"person@example.com"}"#)
                            .bind(at)
                            .bind(r#"{"email":"person@example.com","name":"Seeded"}"#)
                            .execute(&mut *transaction)
                            .await?;
                        }
                    }
                }
            }
            transaction.commit().await?;
            event = end;
        }
        Ok(last)
    }
}

/// The run columns, qualified by the alias `r`.
const RUN_COLUMNS_R: &str = "r.id AS id, r.flow_id AS flow_id, r.flow_version AS flow_version, \
     r.event_id AS event_id, r.replay_of AS replay_of, r.status AS status, \
     r.attempts AS attempts, r.next_attempt_at_ms AS next_attempt_at_ms, \
     r.lease_owner AS lease_owner, r.lease_expires_at_ms AS lease_expires_at_ms, \
     r.last_error AS last_error, r.created_at_ms AS created_at_ms, \
     r.updated_at_ms AS updated_at_ms";

/// Runs changed after `($1, $2)`, from `runs_by_update`.
const RUNS_CHANGED_SINCE: &str = "SELECT id, flow_id, flow_version, event_id, replay_of, \
     status, attempts, next_attempt_at_ms, lease_owner, lease_expires_at_ms, last_error, \
     created_at_ms, updated_at_ms FROM runs WHERE updated_at_ms >= $1 \
     AND (updated_at_ms > $1 OR id > $2) ORDER BY updated_at_ms, id LIMIT $3";

/// Indexes `record` (an id, or an e-mail, lowercased here) of `app` as touched by `run_id`.
pub(crate) async fn insert_run_record(
    connection: &mut sqlx::AnyConnection,
    run_id: RunId,
    app: &str,
    record: &str,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO run_records (record, run_id, app) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(record_key(record))
    .bind(run_id.0)
    .bind(app)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// The records an event names, by a rule that needs no knowledge of any app: the app is the
/// source's first segment (`ghl` of `ghl.webhook`), the records the payload's `id`, `contactId`
/// and `email`, and those of an object one level down (`contact.id`, `customer.email`).
pub(crate) fn trigger_records(source: &str, payload: &serde_json::Value) -> Vec<(String, String)> {
    let app = source.split(['.', ':']).next().unwrap_or(source).to_owned();
    let mut records = Vec::new();
    let mut take = |object: &serde_json::Map<String, serde_json::Value>| {
        for field in ["id", "contactId", "email"] {
            let value = match object.get(field) {
                Some(serde_json::Value::String(text)) if !text.is_empty() => text.clone(),
                Some(serde_json::Value::Number(number)) => number.to_string(),
                _ => continue,
            };
            let value = if field == "email" {
                value.to_lowercase()
            } else {
                value
            };
            if !records.iter().any(|(_, known)| *known == value) {
                records.push((app.clone(), value));
            }
        }
    };
    if let Some(object) = payload.as_object() {
        take(object);
        for nested in object.values().filter_map(serde_json::Value::as_object) {
            take(nested);
        }
    }
    records.truncate(16);
    records
}

/// How a record is indexed: an e-mail address in lower case, any other id as it is.
pub(crate) fn record_key(record: &str) -> String {
    if record.contains('@') {
        record.to_lowercase()
    } else {
        record.to_owned()
    }
}

/// The SQL of a search and its parameters: only the conditions given are written.
fn search_query(
    backend: Backend,
    filter: &RunFilter,
    lowest: Option<i64>,
    highest: Option<i64>,
    limit: i64,
) -> (String, Vec<Bind>) {
    // Only the conditions given are written, so each planner sees plain equalities and id
    // ranges on the driving index: the record index, else the flow's, else the status's,
    // else the primary key, each walked from the newest id down.
    let record = filter.record.as_deref().map(str::to_lowercase);
    let mut binds: Vec<Bind> = Vec::new();
    let mut param = |value: Bind| {
        binds.push(value);
        format!("${}", binds.len())
    };
    let mut conditions: Vec<String> = Vec::new();
    let (from, id, order) = if let Some(record) = record {
        conditions.push(format!("x.record = {}", param(Bind::Text(record))));
        (
            "run_records x JOIN runs r ON r.id = x.run_id",
            "x.run_id",
            "x.run_id DESC",
        )
    } else if filter.flow_id.is_some() {
        ("runs r", "r.id", "r.flow_id DESC, r.id DESC")
    } else if filter.status.is_some() {
        ("runs r", "r.id", "r.status DESC, r.id DESC")
    } else {
        ("runs r", "r.id", "r.id DESC")
    };
    if let Some(flow_id) = &filter.flow_id {
        conditions.push(format!(
            "r.flow_id = {}",
            param(Bind::Text(flow_id.clone()))
        ));
    }
    if let Some(status) = filter.status {
        conditions.push(format!(
            "r.status = {}",
            param(Bind::Text(status.as_str().to_owned()))
        ));
    }
    if let Some(lowest) = lowest {
        conditions.push(format!("{id} >= {}", param(Bind::Int(lowest))));
    }
    if let Some(highest) = highest {
        conditions.push(format!("{id} <= {}", param(Bind::Int(highest))));
    }
    if let Some(since) = filter.since_ms {
        conditions.push(format!("r.created_at_ms >= {}", param(Bind::Int(since))));
    }
    if let Some(until) = filter.until_ms {
        conditions.push(format!("r.created_at_ms < {}", param(Bind::Int(until))));
    }
    let limit = param(Bind::Int(limit));
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    // A run touching one record twice (as trigger and target, or in two apps) is one row:
    // the primary key (record, run_id, app) puts its entries side by side, so both backends
    // drop the repeats without a sort.
    let distinct = if from.starts_with("run_records") {
        match backend {
            Backend::Sqlite => "",
            Backend::Postgres => "DISTINCT ON (x.run_id) ",
        }
    } else {
        ""
    };
    let group = if from.starts_with("run_records") && backend == Backend::Sqlite {
        " GROUP BY x.run_id"
    } else {
        ""
    };
    (
        format!(
            "SELECT {distinct}{RUN_COLUMNS_R} FROM {from}{filter_sql}{group} ORDER BY {order} \
             LIMIT {limit}"
        ),
        binds,
    )
}

/// A value bound to a search's query.
enum Bind {
    Text(String),
    Int(i64),
}

/// The rows of `run_links` saying each run's step wrote its link, and each target as one of
/// the run's records, on `connection` (a transaction's): one statement for each table per chunk,
/// for one run or a writer batch's.
pub(crate) async fn insert_run_links(
    connection: &mut sqlx::AnyConnection,
    written: &[(RunId, &str, &Link)],
) -> Result<(), Error> {
    let now = now_ms();
    for chunk in written.chunks(500) {
        let sql = format!(
            "INSERT INTO run_links (run_id, step_id, source_app, source_type, source_id, \
             target_app, target_type, target_id, written_at_ms) VALUES {}",
            crate::placeholders(connection, chunk.len(), 9, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (run_id, step_id, link) in chunk {
            query = query
                .bind(run_id.0)
                .bind(*step_id)
                .bind(&link.source_app)
                .bind(&link.source_type)
                .bind(&link.source_id)
                .bind(&link.target_app)
                .bind(&link.target_type)
                .bind(&link.target_id)
                .bind(now);
        }
        query.execute(&mut *connection).await?;
        let sql = format!(
            "INSERT INTO run_records (record, run_id, app) VALUES {} ON CONFLICT DO NOTHING",
            crate::placeholders(connection, chunk.len(), 3, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (run_id, _, link) in chunk {
            query = query
                .bind(record_key(&link.target_id))
                .bind(run_id.0)
                .bind(&link.target_app);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// [`insert_run_links`] for one run's step.
pub(crate) async fn insert_run_link(
    connection: &mut sqlx::AnyConnection,
    run_id: RunId,
    step_id: &str,
    link: &Link,
) -> Result<(), Error> {
    insert_run_links(connection, &[(run_id, step_id, link)]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Vault;

    /// Every search shape reads an index and sorts nothing on SQLite, so a page costs the same
    /// at any depth and any number of runs.
    #[tokio::test]
    async fn the_run_searches_read_an_index_and_sort_nothing_on_sqlite() {
        let path = std::env::temp_dir().join(format!(
            "tether-store-search-plans-{}-{}.sqlite",
            std::process::id(),
            fastrand::u64(..)
        ));
        let store = Store::open_sqlite(&path, Vault::from_key(&[3; 32]))
            .await
            .unwrap();
        let flow = RunFilter {
            flow_id: Some("f".into()),
            ..RunFilter::default()
        };
        let status = RunFilter {
            status: Some(RunStatus::Dead),
            ..RunFilter::default()
        };
        let record = RunFilter {
            record: Some("a@b.c".into()),
            flow_id: Some("f".into()),
            ..RunFilter::default()
        };
        let timed = RunFilter {
            since_ms: Some(1),
            until_ms: Some(2),
            ..RunFilter::default()
        };
        let cases = [
            // The newest runs: the table itself, walked backwards from its end.
            (RunFilter::default(), None, None, "SCAN r"),
            (RunFilter::default(), None, Some(900), "PRIMARY KEY"),
            (flow.clone(), None, Some(900), "INDEX runs_by_flow"),
            (status, None, Some(900), "INDEX runs_by_status"),
            (
                record,
                None,
                Some(900),
                "INDEX sqlite_autoindex_run_records_1",
            ),
            (timed, Some(10), Some(900), "PRIMARY KEY"),
        ];
        let mut plans = Vec::new();
        for (filter, lowest, highest, index) in cases {
            let (sql, binds) = search_query(Backend::Sqlite, &filter, lowest, highest, 50);
            plans.push((format!("EXPLAIN QUERY PLAN {sql}"), binds, index));
        }
        for sql in [
            "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE created_at_ms >= $1 \
             ORDER BY created_at_ms, id LIMIT 1",
            "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE created_at_ms < $1 \
             ORDER BY created_at_ms DESC, id DESC LIMIT 1",
        ] {
            plans.push((sql.to_owned(), vec![Bind::Int(1)], "INDEX runs_by_creation"));
        }
        plans.push((
            format!("EXPLAIN QUERY PLAN {RUNS_CHANGED_SINCE}"),
            vec![Bind::Int(1), Bind::Int(1), Bind::Int(1)],
            "INDEX runs_by_update",
        ));
        for (sql, binds, index) in plans {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for bind in binds {
                query = match bind {
                    Bind::Text(text) => query.bind(text),
                    Bind::Int(number) => query.bind(number),
                };
            }
            let plan: Vec<String> = query
                .fetch_all(&store.pool)
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String, _>("detail").unwrap())
                .collect();
            assert!(
                plan.iter().any(|step| step.contains(index)),
                "{sql}\ndoes not read {index}: {plan:#?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")
                    || (step.starts_with("SCAN") && !index.starts_with("SCAN"))),
                "{sql}\nsorts or scans: {plan:#?}"
            );
        }
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn trigger_records_are_ids_and_lowercased_emails_one_level_deep() {
        let records = trigger_records(
            "ghl.webhook",
            &serde_json::json!({"id": "c1", "email": "Ada@Example.com",
                "appointment": {"id": "a1", "contactId": "c1"}, "n": 3}),
        );
        assert_eq!(
            records,
            [
                ("ghl".to_owned(), "c1".to_owned()),
                ("ghl".to_owned(), "ada@example.com".to_owned()),
                ("ghl".to_owned(), "a1".to_owned()),
            ]
        );
    }
}
