-- Samples for building flows, kept apart from run history: records a person fetched from a poll
-- trigger, captured from a webhook or took from a past run, to preview expressions and test steps
-- against. Keep this file equivalent to migrations/sqlite/0012_samples.sql.

-- step_id is `trigger` for a trigger record, else the step whose output the record stands for.
-- source: poll, webhook, run.
CREATE TABLE samples (
    id              BIGSERIAL PRIMARY KEY,
    flow_id         TEXT NOT NULL,
    step_id         TEXT NOT NULL,
    source          TEXT NOT NULL,
    record          TEXT NOT NULL,
    taken_at_ms     BIGINT NOT NULL
);
CREATE INDEX samples_by_flow ON samples (flow_id, id);

-- A pending webhook capture: the first event of event_source whose kind is one of kinds (a JSON
-- array) received at or after since_ms and before expires_at_ms becomes the sample sample_id.
CREATE TABLE sample_captures (
    id              BIGSERIAL PRIMARY KEY,
    flow_id         TEXT NOT NULL,
    event_source    TEXT NOT NULL,
    kinds           TEXT NOT NULL,
    since_ms        BIGINT NOT NULL,
    expires_at_ms   BIGINT NOT NULL,
    sample_id       BIGINT REFERENCES samples (id)
);

-- A capture asks for the first event of a source after a time.
CREATE INDEX events_by_source_time ON events (source, received_at_ms, id);
