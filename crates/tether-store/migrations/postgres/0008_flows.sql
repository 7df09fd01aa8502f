-- Flows in the store, versioned. Keep this file equivalent to migrations/sqlite/0008_flows.sql.
--
-- A flow has a draft (its YAML exactly as written, comments included, with a revision that moves
-- on every save) and published versions, each immutable. `current_seq` names the published
-- version new events run; older versions stay for the runs enqueued with them.
CREATE TABLE flows (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    enabled             BIGINT NOT NULL DEFAULT 1,
    draft_yaml          TEXT NOT NULL,
    draft_revision      BIGINT NOT NULL,
    draft_updated_at_ms BIGINT NOT NULL,
    created_at_ms       BIGINT NOT NULL,
    current_seq         BIGINT,
    -- The change counter's value at this flow's last publish, enable or disable.
    change_seq          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX flows_by_change ON flows (change_seq);

-- Published versions. `seq` is the per-flow number people see (v1, v2…); `hash` is the flow's
-- content hash (16 hex digits, `Flow.version`) and `number` the integer runs record for it.
CREATE TABLE flow_versions (
    flow_id         TEXT NOT NULL REFERENCES flows (id),
    seq             BIGINT NOT NULL,
    hash            TEXT NOT NULL,
    number          BIGINT NOT NULL,
    yaml            TEXT NOT NULL,
    message         TEXT NOT NULL,
    published_at_ms BIGINT NOT NULL,
    PRIMARY KEY (flow_id, seq)
);
CREATE INDEX flow_versions_by_number ON flow_versions (flow_id, number);

-- One row: a counter moved by every publish, enable and disable, so another process notices a
-- change with one cheap read.
CREATE TABLE flow_changes (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    counter BIGINT NOT NULL
);
INSERT INTO flow_changes (id, counter) VALUES (1, 0);
