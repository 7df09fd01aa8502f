-- Accounts: people who sign in, their sessions and API tokens, the one-time tokens of first-start
-- setup (and demo logins), and failed sign-ins for throttling. Keep this file equivalent to
-- migrations/sqlite/0009_accounts.sql. No secret is stored in the clear: passwords as Argon2id
-- PHC strings, session ids and token secrets as the hex SHA-256 of the random value handed out.

-- role: owner or member. email is stored lowercased, so it is unique however it was typed.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL
);

-- Server-side sessions: the cookie carries the random id, the table its SHA-256.
CREATE TABLE sessions (
    id_hash          TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at_ms    BIGINT NOT NULL,
    last_seen_at_ms  BIGINT NOT NULL,
    expires_at_ms    BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- API tokens (`tth_…`): the prefix is shown to tell tokens apart; a live token's name is unique.
CREATE TABLE api_tokens (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    prefix            TEXT NOT NULL,
    secret_hash       TEXT NOT NULL UNIQUE,
    created_at_ms     BIGINT NOT NULL,
    last_used_at_ms   BIGINT,
    revoked_at_ms     BIGINT
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at_ms IS NULL;

-- Single-use, expiring tokens: purpose `setup` (create the owner) or `login` (one demo sign-in).
CREATE TABLE one_time_tokens (
    token_hash      TEXT PRIMARY KEY,
    purpose         TEXT NOT NULL,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at_ms   BIGINT NOT NULL,
    expires_at_ms   BIGINT NOT NULL
);

-- Failed sign-ins, one row each, by subject (`email:…` or `addr:…`); a success deletes them.
CREATE TABLE login_failures (
    id          BIGSERIAL PRIMARY KEY,
    subject     TEXT NOT NULL,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX login_failures_by_subject ON login_failures (subject, at_ms);
