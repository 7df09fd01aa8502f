-- Connections: one authenticated account of an app. Credentials are sealed (XChaCha20-Poly1305)
-- before they reach this table; `version` guards every credential write (optimistic concurrency).
CREATE TABLE connections (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    app             TEXT NOT NULL,
    auth_kind       TEXT NOT NULL,
    account_id      TEXT,
    base_url        TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    status          TEXT NOT NULL,
    status_message  TEXT,
    sealed_secret   BLOB NOT NULL,
    expires_at_ms   INTEGER,
    version         INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);

-- Short leases that make work single-flight across processes (token refresh, schedules).
CREATE TABLE leases (
    lease_key       TEXT PRIMARY KEY,
    owner           TEXT NOT NULL,
    expires_at_ms   INTEGER NOT NULL
);
