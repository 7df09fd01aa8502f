-- The version of the source record a link last wrote (its change time, ms since the epoch), so an
-- older change that arrives late (a redelivered webhook, a reconciliation poll racing one) is
-- recognised and does not overwrite newer data. NULL when the source gives no version.
ALTER TABLE links ADD COLUMN source_version BIGINT;
