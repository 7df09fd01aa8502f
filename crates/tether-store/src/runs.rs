//! Runs and their step journal: one durable run per flow per event, leased to one worker at a
//! time, retried on a schedule, and a journal of each step's result so a retried run resumes
//! after its last finished step.
//!
//! A run's life: `queued` → `running` (leased) → `done`, or → `retry` (due again at
//! `next_attempt_at_ms`) → `running` …, or → `dead` (in the DLQ, see [`crate::dlq`]). A `running`
//! run whose lease expired is due again: its worker died, and another one takes it over.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::events::EventId;
use crate::{Backend, Error, Store, json_column, now_ms, row_id};

row_id!(
    /// A run.
    RunId
);

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Waiting for its first worker.
    Queued,
    /// Leased to a worker.
    Running,
    /// Failed an attempt; due again at `next_attempt_at_ms`.
    Retry,
    /// Finished.
    Done,
    /// Failed for good; in the dead-letter queue.
    Dead,
}

impl RunStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Retry => "retry",
            RunStatus::Done => "done",
            RunStatus::Dead => "dead",
        }
    }

    /// The status stored as `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::parse(name).ok()
    }

    fn parse(text: &str) -> Result<Self, Error> {
        Ok(match text {
            "queued" => RunStatus::Queued,
            "running" => RunStatus::Running,
            "retry" => RunStatus::Retry,
            "done" => RunStatus::Done,
            "dead" => RunStatus::Dead,
            other => {
                return Err(Error::Corrupt {
                    field: "runs.status",
                    reason: other.to_owned(),
                });
            }
        })
    }
}

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Its id.
    pub id: RunId,
    /// The flow it runs.
    pub flow_id: String,
    /// The flow version it runs.
    pub flow_version: i64,
    /// The trigger event.
    pub event_id: EventId,
    /// The DLQ entry this run replays, when it is a replay.
    pub replay_of: Option<i64>,
    /// Where it is.
    pub status: RunStatus,
    /// Attempts started so far (each lease counts one).
    pub attempts: i64,
    /// When a queued or retrying run is due, ms since epoch.
    pub next_attempt_at_ms: i64,
    /// The worker holding the lease, while running.
    pub lease_owner: Option<String>,
    /// When the lease runs out, while running.
    pub lease_expires_at_ms: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Created, ms since epoch.
    pub created_at_ms: i64,
    /// Last changed, ms since epoch.
    pub updated_at_ms: i64,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// Done; its output feeds later steps.
    Ok,
    /// Finished without effect (a filter stopped the run, a lookup found nothing to do).
    Skipped,
    /// This attempt failed; kept as history, the step runs again on retry.
    Failed,
}

impl StepStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Ok => "ok",
            StepStatus::Skipped => "skipped",
            StepStatus::Failed => "failed",
        }
    }

    /// Whether the step is finished, so a retried run skips it.
    pub fn is_finished(self) -> bool {
        self != StepStatus::Failed
    }

    fn parse(text: &str) -> Result<Self, Error> {
        Ok(match text {
            "ok" => StepStatus::Ok,
            "skipped" => StepStatus::Skipped,
            "failed" => StepStatus::Failed,
            other => {
                return Err(Error::Corrupt {
                    field: "run_steps.status",
                    reason: other.to_owned(),
                });
            }
        })
    }
}

/// One journaled step result.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// The journal row's id (0 for a result not read back from the store).
    pub row: i64,
    /// The run.
    pub run_id: RunId,
    /// The step's id in the flow.
    pub step_id: String,
    /// The run attempt that produced it.
    pub attempt: i64,
    /// How it ended.
    pub status: StepStatus,
    /// The step's output (for a failure, what the engine wants to keep about it).
    pub output: serde_json::Value,
    /// When it was journaled, ms since epoch.
    pub recorded_at_ms: i64,
    /// The step's input as resolved from the flow's expressions (an action's or lookup's call
    /// input, a map's record), when the step has one.
    pub input: Option<serde_json::Value>,
    /// How long the step took, when measured.
    pub duration_ms: Option<i64>,
}

/// What [`Store::journal_step_with`] records beside a step's result.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepDetail<'a> {
    /// The step's resolved input.
    pub input: Option<&'a serde_json::Value>,
    /// How long it took, in milliseconds.
    pub duration_ms: Option<i64>,
}

/// A step's result to journal with [`Store::commit_steps`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewStep {
    /// The step's id in the flow.
    pub step_id: String,
    /// How it ended.
    pub status: StepStatus,
    /// Its output.
    pub output: serde_json::Value,
    /// Its resolved input, when it has one.
    pub input: Option<serde_json::Value>,
    /// How long it took, in milliseconds, when measured.
    pub duration_ms: Option<i64>,
}

/// What [`Store::commit_steps`] writes for a run in one transaction. Nothing in it is required;
/// an empty commit writes nothing. It is owned: it moves into the run path's writer (see
/// `writer.rs`), which may run it a second time alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepCommit {
    /// Journal rows, in step order (see [`Store::journal_step`] for what a second row of a
    /// finished step does).
    pub steps: Vec<NewStep>,
    /// A link an action keeps, written whatever is stored ([`crate::LinkExpect::Any`]: the
    /// record's lease makes the action its only writer); with `Some(step)` the run also records
    /// that its step wrote it ([`Store::record_run_link`]).
    pub link: Option<(crate::Link, Option<String>)>,
    /// Leases to give back (a record's, taken for an action), when `lease_owner` still holds
    /// them.
    pub release: Vec<String>,
    /// Who holds the leases of `release`.
    pub lease_owner: String,
    /// Marks the run done for this worker, as [`Store::complete_run`].
    pub complete: Option<String>,
}

/// What [`Store::commit_steps`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepsCommitted {
    /// The journal row that stands for each row given, in their order: the one given, or for a
    /// finished step journaled before (by a worker that lost its lease), that one.
    pub steps: Vec<StepResult>,
    /// The run was to be completed but its worker no longer holds it: everything else was
    /// written; the worker must drop the run ([`Error::LeaseLost`] of [`Store::complete_run`]).
    pub lease_lost: bool,
}

/// A run with its journal, for `tether runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The run and its outcome.
    pub run: Run,
    /// Its steps in journal order.
    pub steps: Vec<StepResult>,
}

/// How many runs are in each status, for progress, back-pressure and "until idle" in tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Waiting for their first worker.
    pub queued: i64,
    /// Leased (including leases that expired and wait for a taker).
    pub running: i64,
    /// Waiting for a retry.
    pub retry: i64,
    /// Finished.
    pub done: i64,
    /// In the dead-letter queue.
    pub dead: i64,
}

impl RunCounts {
    /// Runs not finished yet (queued, running or waiting for a retry).
    pub fn pending(&self) -> i64 {
        self.queued + self.running + self.retry
    }

    /// Every run, finished or not.
    pub fn total(&self) -> i64 {
        self.pending() + self.done + self.dead
    }
}

/// The columns every run query reads.
macro_rules! run_columns {
    () => {
        "id, flow_id, flow_version, event_id, replay_of, status, attempts, next_attempt_at_ms, \
         lease_owner, lease_expires_at_ms, last_error, created_at_ms, updated_at_ms"
    };
}

/// Which runs are due at `$2`: queued ones at once, retries once their time came, running ones
/// whose lease expired (their worker died). The leading `status IN` repeats the partial index's
/// predicate so both planners use it; SQLite is also told to (`INDEXED BY runs_due`), because it
/// would otherwise read `runs_by_status` and sort the whole backlog on every lease.
macro_rules! due_runs {
    () => {
        due_runs!("runs")
    };
    ($from:literal) => {
        concat!(
            "SELECT id FROM ",
            $from,
            " WHERE status IN ('queued', 'retry', 'running') \
         AND (status = 'queued' OR (status = 'retry' AND next_attempt_at_ms <= $2) \
         OR (status = 'running' AND lease_expires_at_ms <= $2)) \
         ORDER BY next_attempt_at_ms, id LIMIT $3"
        )
    };
}

/// What a lease sets: `$1` worker, `$2` now, `$4` lease end.
macro_rules! take_lease {
    () => {
        "UPDATE runs SET status = 'running', lease_owner = $1, lease_expires_at_ms = $4, \
         attempts = attempts + 1, updated_at_ms = $2 WHERE id IN "
    };
}

/// SQLite's lease: select-and-update in one statement (see [`Store::lease_runs`]).
const SQLITE_LEASE_RUNS: &str = concat!(
    take_lease!(),
    "(",
    due_runs!("runs INDEXED BY runs_due"),
    ") RETURNING ",
    run_columns!()
);

/// PostgreSQL's lease: the due rows locked (skipping those another worker is taking), then updated.
const POSTGRES_LEASE_RUNS: &str = concat!(
    "WITH due AS (",
    due_runs!(),
    " FOR UPDATE SKIP LOCKED) ",
    take_lease!(),
    "(SELECT id FROM due) RETURNING ",
    run_columns!()
);

/// Runs by status, from the covering index `runs_by_status` (no sort).
const RUN_COUNTS: &str = "SELECT status, COUNT(*) AS n FROM runs GROUP BY status";

/// Unfinished runs by status: only their entries of `runs_by_status` are read.
const UNFINISHED_RUN_COUNTS: &str = "SELECT status, COUNT(*) AS n FROM runs \
     WHERE status IN ('queued', 'retry', 'running') GROUP BY status";

macro_rules! step_columns {
    () => {
        "id, run_id, step_id, attempt, status, output, recorded_at_ms, input, duration_ms"
    };
}

impl Store {
    /// Enqueues the run of `flow_id` for `event_id`, once: enqueuing the same pair again answers
    /// the existing run's id.
    pub async fn enqueue_run(
        &self,
        flow_id: &str,
        flow_version: i64,
        event_id: EventId,
    ) -> Result<RunId, Error> {
        let mut connection = self.pool.acquire().await?;
        insert_run(&mut connection, flow_id, flow_version, event_id, 0).await
    }

    /// Leases up to `n` due runs to `worker` until `now_ms + lease_for_ms`, and answers them.
    /// Each due run goes to exactly one of the workers leasing concurrently.
    pub async fn lease_runs(
        &self,
        worker: &str,
        n: usize,
        now_ms: i64,
        lease_for_ms: i64,
    ) -> Result<Vec<Run>, Error> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let sql = match self.backend {
            // Several processes lease concurrently: SKIP LOCKED hands rows another worker is
            // taking to nobody else, without waiting for it, and the CTE locks before updating.
            Backend::Postgres => POSTGRES_LEASE_RUNS,
            // SQLite has no row locks and needs none: it has one writer, and an UPDATE takes the
            // write lock before it reads, so select-and-update in one statement is atomic.
            Backend::Sqlite => SQLITE_LEASE_RUNS,
        };
        let worker = worker.to_owned();
        let mut runs = self
            .writer
            .write(move |connection| {
                let worker = worker.clone();
                Box::pin(async move {
                    let rows = sqlx::query(sql)
                        .bind(worker)
                        .bind(now_ms)
                        .bind(limit)
                        .bind(now_ms.saturating_add(lease_for_ms))
                        .fetch_all(&mut *connection)
                        .await?;
                    rows.iter().map(decode_run).collect::<Result<Vec<_>, _>>()
                })
            })
            .await?;
        runs.sort_by_key(|run| run.id);
        Ok(runs)
    }

    /// Leases the run `run_id` to `worker` until `now_ms + lease_for_ms` when it is due (as
    /// [`Store::lease_runs`] judges) and answers it; `None` when it is not due or another worker
    /// holds it. For executing one chosen run (`tether run`) without taking other due runs.
    pub async fn lease_run(
        &self,
        run_id: RunId,
        worker: &str,
        now_ms: i64,
        lease_for_ms: i64,
    ) -> Result<Option<Run>, Error> {
        // The conditions sit on the UPDATE itself (no subquery), so PostgreSQL re-checks them
        // against a row a concurrent worker just leased, and exactly one of them wins.
        let row = sqlx::query(concat!(
            "UPDATE runs SET status = 'running', lease_owner = $1, lease_expires_at_ms = $4, \
             attempts = attempts + 1, updated_at_ms = $2 WHERE id = $3 \
             AND (status = 'queued' OR (status = 'retry' AND next_attempt_at_ms <= $2) \
             OR (status = 'running' AND lease_expires_at_ms <= $2)) RETURNING ",
            run_columns!()
        ))
        .bind(worker)
        .bind(now_ms)
        .bind(run_id.0)
        .bind(now_ms.saturating_add(lease_for_ms))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode_run).transpose()
    }

    /// Extends `worker`'s lease on a long run to `until_ms`.
    pub async fn extend_lease(
        &self,
        run_id: RunId,
        worker: &str,
        until_ms: i64,
    ) -> Result<(), Error> {
        let result = sqlx::query(
            "UPDATE runs SET lease_expires_at_ms = $1, updated_at_ms = $2 \
             WHERE id = $3 AND status = 'running' AND lease_owner = $4",
        )
        .bind(until_ms)
        .bind(now_ms())
        .bind(run_id.0)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        lease_held(result.rows_affected(), run_id, worker)
    }

    /// Marks `worker`'s run done. Fails with [`Error::LeaseLost`] when another worker took it.
    pub async fn complete_run(&self, run_id: RunId, worker: &str) -> Result<(), Error> {
        let result = sqlx::query(
            "UPDATE runs SET status = 'done', lease_owner = NULL, lease_expires_at_ms = NULL, \
             updated_at_ms = $1 WHERE id = $2 AND status = 'running' AND lease_owner = $3",
        )
        .bind(now_ms())
        .bind(run_id.0)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        lease_held(result.rows_affected(), run_id, worker)
    }

    /// Gives `worker`'s run back to be retried at `next_attempt_at_ms`, recording why it failed.
    pub async fn retry_run(
        &self,
        run_id: RunId,
        worker: &str,
        next_attempt_at_ms: i64,
        error: &str,
    ) -> Result<(), Error> {
        let result = sqlx::query(
            "UPDATE runs SET status = 'retry', next_attempt_at_ms = $1, last_error = $2, \
             lease_owner = NULL, lease_expires_at_ms = NULL, updated_at_ms = $3 \
             WHERE id = $4 AND status = 'running' AND lease_owner = $5",
        )
        .bind(next_attempt_at_ms)
        .bind(error)
        .bind(now_ms())
        .bind(run_id.0)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        lease_held(result.rows_affected(), run_id, worker)
    }

    /// Gives back runs `worker` leased but never started (a worker leases a few runs ahead and
    /// is stopping): each is due again at once, as it was before the lease, its attempt not
    /// counted. Runs another worker took over meanwhile are left alone. Answers how many went
    /// back.
    pub async fn give_back_runs(&self, worker: &str, runs: &[RunId]) -> Result<u64, Error> {
        if runs.is_empty() {
            return Ok(0);
        }
        let ids = (0..runs.len())
            .map(|index| format!("${}", index + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE runs SET status = CASE WHEN attempts <= 1 THEN 'queued' ELSE 'retry' END, \
             attempts = attempts - 1, next_attempt_at_ms = $2, lease_owner = NULL, \
             lease_expires_at_ms = NULL, updated_at_ms = $2 \
             WHERE status = 'running' AND lease_owner = $1 AND id IN ({ids})"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(now_ms());
        for run in runs {
            query = query.bind(run.0);
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    /// The run with this id.
    pub async fn run(&self, run_id: RunId) -> Result<Run, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE id = $1"
        ))
        .bind(run_id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "run",
            name: run_id.to_string(),
        })?;
        decode_run(&row)
    }

    /// How many runs are in each status. This reads an index entry per run ever made; when only
    /// the backlog matters, [`Store::unfinished_run_counts`] reads far less.
    pub async fn run_counts(&self) -> Result<RunCounts, Error> {
        self.counts_by_status(RUN_COUNTS).await
    }

    /// How many runs are queued, running or waiting for a retry (`done` and `dead` are 0): what
    /// back-pressure and progress need, read from the index entries of unfinished runs only, so
    /// its cost follows the backlog, not the history.
    pub async fn unfinished_run_counts(&self) -> Result<RunCounts, Error> {
        self.counts_by_status(UNFINISHED_RUN_COUNTS).await
    }

    async fn counts_by_status(&self, sql: &'static str) -> Result<RunCounts, Error> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        let mut counts = RunCounts::default();
        for row in &rows {
            let n: i64 = row.try_get("n")?;
            match RunStatus::parse(&row.try_get::<String, _>("status")?)? {
                RunStatus::Queued => counts.queued = n,
                RunStatus::Running => counts.running = n,
                RunStatus::Retry => counts.retry = n,
                RunStatus::Done => counts.done = n,
                RunStatus::Dead => counts.dead = n,
            }
        }
        Ok(counts)
    }

    /// Journals a step's result. A finished step ([`StepStatus::is_finished`]) is journaled once
    /// per run: when one is there already (a worker that lost its lease finished it too), that
    /// one stands and is answered, so every later step sees the same output.
    pub async fn journal_step(
        &self,
        run_id: RunId,
        step_id: &str,
        attempt: i64,
        status: StepStatus,
        output: &serde_json::Value,
    ) -> Result<StepResult, Error> {
        self.journal_step_with(
            run_id,
            step_id,
            attempt,
            status,
            output,
            StepDetail::default(),
        )
        .await
    }

    /// [`Store::journal_step`] with what a person reading the run wants too: the step's resolved
    /// input and how long it took.
    pub async fn journal_step_with(
        &self,
        run_id: RunId,
        step_id: &str,
        attempt: i64,
        status: StepStatus,
        output: &serde_json::Value,
        detail: StepDetail<'_>,
    ) -> Result<StepResult, Error> {
        let recorded_at_ms = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO run_steps (run_id, step_id, attempt, status, output, recorded_at_ms, \
             input, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(run_id.0)
        .bind(step_id)
        .bind(attempt)
        .bind(status.as_str())
        .bind(output.to_string())
        .bind(recorded_at_ms)
        .bind(detail.input.map(serde_json::Value::to_string))
        .bind(detail.duration_ms)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = inserted {
            return Ok(StepResult {
                row: row.try_get("id")?,
                run_id,
                step_id: step_id.to_owned(),
                attempt,
                status,
                output: output.clone(),
                recorded_at_ms,
                input: detail.input.cloned(),
                duration_ms: detail.duration_ms,
            });
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM run_steps WHERE run_id = $1 AND step_id = $2 AND status <> 'failed'"
        ))
        .bind(run_id.0)
        .bind(step_id)
        .fetch_one(&self.pool)
        .await?;
        decode_step(&row)
    }

    /// Writes what a run did since its last commit in one transaction, so a run's steps cost one
    /// commit rather than one each: journal rows of steps without effects outside (a filter, a
    /// map), an action's row with the link it keeps, the record leases it held, and the run's
    /// completion. A statement alone commits without `BEGIN`/`COMMIT`.
    ///
    /// The completion is the last statement and, unlike [`Store::complete_run`], a lease lost
    /// does not undo the rest (an action's link must stay, or its write would be repeated): the
    /// answer says so in [`StepsCommitted::lease_lost`].
    pub async fn commit_steps(
        &self,
        run_id: RunId,
        attempt: i64,
        commit: StepCommit,
    ) -> Result<StepsCommitted, Error> {
        let recorded_at_ms = now_ms();
        // The run path's writer commits it with the other runs' writes of the moment.
        let commit = Arc::new(commit);
        let (inserted, lease_lost) = self
            .writer
            .commit_steps(crate::writer::StepsJob {
                run_id,
                attempt,
                recorded_at_ms,
                commit: commit.clone(),
            })
            .await?;
        // The writer drops the job before answering, so the rows come back without a copy.
        let steps_given = match Arc::try_unwrap(commit) {
            Ok(commit) => commit.steps,
            Err(shared) => shared.steps.clone(),
        };
        let mut steps = Vec::with_capacity(steps_given.len());
        for step in steps_given {
            match inserted.get(&step.step_id) {
                Some(&row) => steps.push(StepResult {
                    row,
                    run_id,
                    step_id: step.step_id,
                    attempt,
                    status: step.status,
                    output: step.output,
                    recorded_at_ms,
                    input: step.input,
                    duration_ms: step.duration_ms,
                }),
                // Only a finished step conflicts: the row journaled first stands.
                None => steps.push(self.finished_step(run_id, &step.step_id).await?),
            }
        }
        Ok(StepsCommitted { steps, lease_lost })
    }

    /// The finished journal row of `step_id` in the run.
    async fn finished_step(&self, run_id: RunId, step_id: &str) -> Result<StepResult, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM run_steps WHERE run_id = $1 AND step_id = $2 AND status <> 'failed'"
        ))
        .bind(run_id.0)
        .bind(step_id)
        .fetch_one(&self.pool)
        .await?;
        decode_step(&row)
    }

    /// The run's journal in the order it was written, failed attempts included.
    pub async fn journal(&self, run_id: RunId) -> Result<Vec<StepResult>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM run_steps WHERE run_id = $1 ORDER BY id"
        ))
        .bind(run_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_step).collect()
    }

    /// The `limit` most recent runs, newest first, each with its journal.
    pub async fn runs_recent(&self, limit: usize) -> Result<Vec<RunSummary>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut summaries = rows
            .iter()
            .map(|row| {
                Ok(RunSummary {
                    run: decode_run(row)?,
                    steps: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let Some(oldest) = summaries.last().map(|summary| summary.run.id) else {
            return Ok(summaries);
        };
        // One query for all the journals; runs enqueued meanwhile are newer and skipped below.
        let step_rows = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM run_steps WHERE run_id >= $1 ORDER BY id"
        ))
        .bind(oldest.0)
        .fetch_all(&self.pool)
        .await?;
        let index: HashMap<RunId, usize> = summaries
            .iter()
            .enumerate()
            .map(|(position, summary)| (summary.run.id, position))
            .collect();
        for row in &step_rows {
            let step = decode_step(row)?;
            if let Some(&position) = index.get(&step.run_id) {
                summaries[position].steps.push(step);
            }
        }
        Ok(summaries)
    }
}

/// Rows bound at most per multi-row statement (each journal row binds eight values, so well
/// under SQLite's and PostgreSQL's limits on bound values).
const ROWS_PER_STATEMENT: usize = 1_000;

/// The statements of [`Store::commit_steps`] for several runs at once, on `connection` (a
/// transaction's): each run's link, then every run's journal rows in one statement, the leases
/// they give back in one, and their completions in one. Answers, per job in order, the journal
/// rows inserted (step id → row id) and whether the completion found the run leased to someone
/// else.
pub(crate) async fn write_many_steps(
    connection: &mut sqlx::AnyConnection,
    jobs: &[&crate::writer::StepsJob],
) -> Result<Vec<crate::writer::StepsWritten>, Error> {
    let mut written: Vec<crate::writer::StepsWritten> =
        jobs.iter().map(|_| (HashMap::new(), false)).collect();
    // Which job a run's rows belong to: a run commits one step commit at a time.
    let by_run: HashMap<i64, usize> = jobs
        .iter()
        .enumerate()
        .map(|(at, job)| (job.run_id.0, at))
        .collect();
    if by_run.len() != jobs.len() {
        return Err(Error::Corrupt {
            field: "commit_steps",
            reason: "one run's steps twice in one batch".into(),
        });
    }
    // The links first: every statement here writes, so SQLite takes the write lock at once.
    // Written whatever is stored (the record's lease makes the action its only writer), so each
    // is written and its run records that its step wrote it.
    let links: Vec<&crate::Link> = jobs
        .iter()
        .filter_map(|job| job.commit.link.as_ref().map(|(link, _)| link))
        .collect();
    if !links.is_empty() {
        crate::links::upsert_links_any(connection, &links).await?;
    }
    let run_links: Vec<(RunId, &str, &crate::Link)> = jobs
        .iter()
        .filter_map(|job| {
            let (link, step) = job.commit.link.as_ref()?;
            Some((job.run_id, step.as_deref()?, link))
        })
        .collect();
    if !run_links.is_empty() {
        crate::run_search::insert_run_links(connection, &run_links).await?;
    }
    let rows: Vec<(&crate::writer::StepsJob, &NewStep)> = jobs
        .iter()
        .flat_map(|job| job.commit.steps.iter().map(move |step| (*job, step)))
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values = crate::placeholders(connection, chunk.len(), 8, 1);
        let sql = format!(
            "INSERT INTO run_steps (run_id, step_id, attempt, status, output, recorded_at_ms, \
             input, duration_ms) VALUES {values} ON CONFLICT DO NOTHING \
             RETURNING id, run_id, step_id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (job, step) in chunk {
            query = query
                .bind(job.run_id.0)
                .bind(step.step_id.as_str())
                .bind(job.attempt)
                .bind(step.status.as_str())
                .bind(step.output.to_string())
                .bind(job.recorded_at_ms)
                .bind(step.input.as_ref().map(serde_json::Value::to_string))
                .bind(step.duration_ms);
        }
        for row in query.fetch_all(&mut *connection).await? {
            let run_id: i64 = row.try_get("run_id")?;
            if let Some(&at) = by_run.get(&run_id) {
                written[at]
                    .0
                    .insert(row.try_get("step_id")?, row.try_get("id")?);
            }
        }
    }
    // Leases given back, each only while its owner (a run's own name) still holds it.
    let releases: Vec<(&str, &str)> = jobs
        .iter()
        .flat_map(|job| {
            job.commit
                .release
                .iter()
                .map(|key| (job.commit.lease_owner.as_str(), key.as_str()))
        })
        .collect();
    for chunk in releases.chunks(ROWS_PER_STATEMENT) {
        let pairs = crate::placeholders(connection, chunk.len(), 2, 1);
        let sql = format!("DELETE FROM leases WHERE (owner, lease_key) IN (VALUES {pairs})");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (owner, key) in chunk {
            query = query.bind(*owner).bind(*key);
        }
        query.execute(&mut *connection).await?;
    }
    // Completions, each only while its worker still holds the run; a run not answered back lost
    // its lease.
    let completions: Vec<(usize, &str)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(at, job)| job.commit.complete.as_deref().map(|worker| (at, worker)))
        .collect();
    let done_at = jobs.iter().map(|job| job.recorded_at_ms).max().unwrap_or(0);
    for chunk in completions.chunks(ROWS_PER_STATEMENT) {
        let pairs = crate::placeholders(connection, chunk.len(), 2, 2);
        let sql = format!(
            "UPDATE runs SET status = 'done', lease_owner = NULL, lease_expires_at_ms = NULL, \
             updated_at_ms = {} WHERE status = 'running' AND (id, lease_owner) IN (VALUES {pairs}) \
             RETURNING id",
            crate::param(connection, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(done_at);
        for (at, worker) in chunk {
            query = query.bind(jobs[*at].run_id.0).bind(*worker);
        }
        let done: std::collections::HashSet<i64> = query
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>("id"))
            .collect::<Result<_, _>>()?;
        for (at, _) in chunk {
            written[*at].1 = !done.contains(&jobs[*at].run_id.0);
        }
    }
    Ok(written)
}

/// Inserts a run unless `(flow_id, event_id, replay_of)` has one; answers the run's id either way.
pub(crate) async fn insert_run(
    connection: &mut sqlx::AnyConnection,
    flow_id: &str,
    flow_version: i64,
    event_id: EventId,
    replay_of: i64,
) -> Result<RunId, Error> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO runs (flow_id, flow_version, event_id, replay_of, status, attempts, \
         next_attempt_at_ms, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5, $5) \
         ON CONFLICT (flow_id, event_id, replay_of) DO NOTHING RETURNING id",
    )
    .bind(flow_id)
    .bind(flow_version)
    .bind(event_id.0)
    .bind(replay_of)
    .bind(now)
    .fetch_optional(&mut *connection)
    .await?;
    let row = match inserted {
        Some(row) => row,
        None => {
            sqlx::query(
                "SELECT id FROM runs WHERE flow_id = $1 AND event_id = $2 AND replay_of = $3",
            )
            .bind(flow_id)
            .bind(event_id.0)
            .bind(replay_of)
            .fetch_one(&mut *connection)
            .await?
        }
    };
    Ok(RunId(row.try_get("id")?))
}

fn lease_held(rows_affected: u64, run_id: RunId, worker: &str) -> Result<(), Error> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(Error::LeaseLost {
            run_id: run_id.0,
            worker: worker.to_owned(),
        })
    }
}

pub(crate) fn decode_run(row: &AnyRow) -> Result<Run, Error> {
    let replay_of: i64 = row.try_get("replay_of")?;
    Ok(Run {
        id: RunId(row.try_get("id")?),
        flow_id: row.try_get("flow_id")?,
        flow_version: row.try_get("flow_version")?,
        event_id: EventId(row.try_get("event_id")?),
        replay_of: (replay_of != 0).then_some(replay_of),
        status: RunStatus::parse(&row.try_get::<String, _>("status")?)?,
        attempts: row.try_get("attempts")?,
        next_attempt_at_ms: row.try_get("next_attempt_at_ms")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at_ms: row.try_get("lease_expires_at_ms")?,
        last_error: row.try_get("last_error")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

pub(crate) fn decode_step(row: &AnyRow) -> Result<StepResult, Error> {
    Ok(StepResult {
        row: row.try_get("id")?,
        run_id: RunId(row.try_get("run_id")?),
        step_id: row.try_get("step_id")?,
        attempt: row.try_get("attempt")?,
        status: StepStatus::parse(&row.try_get::<String, _>("status")?)?,
        output: json_column(row, "output")?,
        recorded_at_ms: row.try_get("recorded_at_ms")?,
        input: row
            .try_get::<Option<String>, _>("input")?
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|error| Error::Corrupt {
                field: "run_steps.input",
                reason: error.to_string(),
            })?,
        duration_ms: row.try_get("duration_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;
    use crate::Vault;

    /// The queries run all the time (a worker leasing, back-pressure and progress counting) read
    /// an index and sort nothing on SQLite, so their time and memory do not grow with the runs
    /// kept. Two indexes on `runs` let SQLite's planner pick the wrong one for the lease; this
    /// shows it does not.
    #[tokio::test]
    async fn the_hot_run_queries_read_an_index_and_sort_nothing_on_sqlite() {
        let path = std::env::temp_dir().join(format!(
            "tether-store-plans-{}-{}.sqlite",
            std::process::id(),
            fastrand::u64(..)
        ));
        let store = Store::open_sqlite(&path, Vault::from_key(&[3; 32]))
            .await
            .unwrap();
        for (sql, index, parameters) in [
            (SQLITE_LEASE_RUNS, "runs_due", 4),
            (RUN_COUNTS, "runs_by_status", 0),
            (UNFINISHED_RUN_COUNTS, "runs_by_status", 0),
        ] {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
            for value in 0..parameters {
                query = query.bind(i64::from(value));
            }
            let plan: Vec<String> = query
                .fetch_all(&store.pool)
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String, _>("detail").unwrap())
                .collect();
            let reads_runs: Vec<&String> = plan
                .iter()
                .filter(|step| step.contains("runs") && !step.contains("PRIMARY KEY"))
                .collect();
            assert!(
                !reads_runs.is_empty()
                    && reads_runs
                        .iter()
                        .all(|step| step.contains(&format!("INDEX {index}"))),
                "{sql}\nreads runs without {index}: {plan:#?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "{sql}\nsorts: {plan:#?}"
            );
        }
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
