-- Durable cursors of polling triggers. Keep this file equivalent to
-- migrations/postgres/0003_cursors.sql. The cursor is opaque JSON stored as TEXT; it moves only by
-- compare-and-set on that text, so two pollers can neither move it backwards nor both advance it.
CREATE TABLE poll_cursors (
    flow_id         TEXT NOT NULL,
    trigger_key     TEXT NOT NULL,
    cursor_json     TEXT NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (flow_id, trigger_key)
);
