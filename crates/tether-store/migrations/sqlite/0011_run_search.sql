-- Runs a person can find, read and act on (`/api/v1/runs`, `/api/v1/dead-letters`). Keep this file
-- equivalent to migrations/postgres/0011_run_search.sql; where they differ, the comment says why.

-- Search by flow: newest first from an index, whatever the number of runs kept. (By status,
-- SQLite reads `runs_by_status`, whose entries are ordered by rowid within a status already.)
CREATE INDEX runs_by_flow ON runs (flow_id, id);
-- Live run events: runs changed since the last one seen, in the order they changed.
CREATE INDEX runs_by_update ON runs (updated_at_ms, id);
-- Search by time: the first and last run of a time range.
CREATE INDEX runs_by_creation ON runs (created_at_ms, id);

-- The records a run touched, for "every run about this contact": the trigger record's id and
-- e-mail (lowercased) when the event's runs are recorded, and each target id a link of the run
-- wrote. `app` is the record's app (`ghl`, `details_flowers`).
CREATE TABLE run_records (
    record  TEXT NOT NULL,
    run_id  INTEGER NOT NULL REFERENCES runs (id),
    app     TEXT NOT NULL,
    PRIMARY KEY (record, run_id, app)
);
CREATE INDEX run_records_by_run ON run_records (run_id);

-- The links each run wrote, as it wrote them (a link row keeps only its last writer).
CREATE TABLE run_links (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    step_id         TEXT NOT NULL,
    source_app      TEXT NOT NULL,
    source_type     TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    target_app      TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    written_at_ms   INTEGER NOT NULL
);
CREATE INDEX run_links_by_run ON run_links (run_id, id);

-- Each journaled step's resolved input (JSON text; NULL for steps without one, such as a filter)
-- and how long it took.
ALTER TABLE run_steps ADD COLUMN input TEXT;
ALTER TABLE run_steps ADD COLUMN duration_ms INTEGER;

-- Dead letters a person acted on: the key of the request that replayed it (a retried request
-- answers the same run), and a dismissal with its note.
ALTER TABLE dead_letters ADD COLUMN replay_key TEXT;
ALTER TABLE dead_letters ADD COLUMN resolved_at_ms INTEGER;
ALTER TABLE dead_letters ADD COLUMN resolution_note TEXT;
