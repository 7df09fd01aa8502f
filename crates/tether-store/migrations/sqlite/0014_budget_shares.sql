-- The processes spending one rate-limit budget (a connection's, or a Flickr API key's), so each
-- sends only its part. Keep this file equivalent to migrations/postgres/0014_budget_shares.sql.

-- One row per (budget, process), renewed about every second while the process spends the budget;
-- a row not renewed for a while no longer counts. The row with instance '' is the budget's lock:
-- a process counting takes it first, so two processes joining at once cannot both count alone.
CREATE TABLE budget_shares (
    scope       TEXT NOT NULL,
    instance    TEXT NOT NULL,
    seen_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (scope, instance)
);
