-- Durable runs: events in, one run per flow per event, a journal of each step, the id map (links)
-- and the dead-letter queue. Keep this file equivalent to migrations/postgres/0002_runs.sql; times
-- are ms since the epoch, JSON is stored as TEXT so the same SQL reads it on both backends.

-- Trigger events. The unique (source, event_key) makes a redelivered webhook or a re-polled
-- record a duplicate, even when two deliveries race.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT NOT NULL,
    event_key       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    UNIQUE (source, event_key)
);

-- One run per (flow, event); a replay from the DLQ is a fresh run keyed by its DLQ entry.
-- status: queued, running, retry, done, dead.
CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    flow_id             TEXT NOT NULL,
    flow_version        INTEGER NOT NULL,
    event_id            INTEGER NOT NULL REFERENCES events (id),
    replay_of           INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms  INTEGER NOT NULL,
    lease_owner         TEXT,
    lease_expires_at_ms INTEGER,
    last_error          TEXT,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (flow_id, event_id, replay_of)
);
-- Only unfinished runs are ever due; a partial index keeps leasing fast when millions are done.
CREATE INDEX runs_due ON runs (next_attempt_at_ms, id) WHERE status IN ('queued', 'retry', 'running');
CREATE INDEX runs_by_event ON runs (event_id);

-- Each step's result. A finished step (ok, skipped) is journaled at most once per run, so a
-- retried run resumes after it; failed attempts are kept as history.
CREATE TABLE run_steps (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    step_id         TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    status          TEXT NOT NULL,
    output          TEXT NOT NULL,
    recorded_at_ms  INTEGER NOT NULL
);
CREATE UNIQUE INDEX run_steps_finished ON run_steps (run_id, step_id) WHERE status <> 'failed';
CREATE INDEX run_steps_by_run ON run_steps (run_id, id);

-- The id map: a source record of a flow is linked to at most one target record. Targets are
-- indexed but not unique: a lookup by email may rightly link two sources to one target.
CREATE TABLE links (
    flow_id         TEXT NOT NULL,
    source_app      TEXT NOT NULL,
    source_type     TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    target_app      TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (flow_id, source_app, source_type, source_id)
);
CREATE INDEX links_by_target ON links (target_app, target_type, target_id);

-- Runs that failed for good, with the reason and the failing step.
CREATE TABLE dead_letters (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id          INTEGER NOT NULL UNIQUE REFERENCES runs (id),
    failed_step     TEXT,
    reason          TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    replay_run_id   INTEGER REFERENCES runs (id),
    replayed_at_ms  INTEGER
);
