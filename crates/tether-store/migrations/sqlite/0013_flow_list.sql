-- The flows list (`GET /api/v1/flows`): each flow's last run, its runs of the last 24 hours by
-- outcome and its open dead letters, for a page of flows at once; and deleting a flow while its
-- history stays. Keep this file equivalent to migrations/postgres/0013_flow_list.sql.

-- A deleted flow is hidden and starts nothing, but its row and published versions stay: runs
-- enqueued before the delete finish on their version, and run history keeps naming it. Creating
-- a flow with the same id again revives the row (its version numbers go on).
ALTER TABLE flows ADD COLUMN deleted_at_ms INTEGER;

-- A flow's runs of one outcome since a run id, counted from the index alone (no row is read).
CREATE INDEX runs_by_flow_status ON runs (flow_id, status, id);

-- Open dead letters (neither replayed nor resolved): counting them per flow reads only these.
CREATE INDEX dead_letters_open ON dead_letters (run_id)
    WHERE replay_run_id IS NULL AND resolved_at_ms IS NULL;
