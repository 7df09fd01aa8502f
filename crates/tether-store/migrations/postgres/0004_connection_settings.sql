-- Per-connection settings a person chose (JSON object as TEXT), e.g. a rate limit that differs
-- from the app's published one because the account's plan allows more. Keep the SQLite and
-- PostgreSQL files equivalent.
ALTER TABLE connections ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
