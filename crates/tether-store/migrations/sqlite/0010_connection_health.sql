-- A connection's health: `status` is one of ok, refresh_failed, revoked, unreachable, untested
-- (`needs_reauth` became `refresh_failed`), `status_message` the last error (redacted), and
-- `checked_at_ms` when the health was last learned (a test, a failed refresh, a refused poll).
-- Keep the SQLite and PostgreSQL files equivalent.
ALTER TABLE connections ADD COLUMN checked_at_ms INTEGER;
UPDATE connections SET status = 'refresh_failed' WHERE status = 'needs_reauth';

-- OAuth authorizations started from the API and not yet completed: the state parameter is the
-- key; the pending request (name, app settings, client secret) is sealed; single use, expiring.
CREATE TABLE oauth_states (
    state           TEXT PRIMARY KEY,
    app             TEXT NOT NULL,
    sealed_request  BLOB NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL
);
