-- What two-way sync knows of a link's two records (see docs/sync.md): the source's fields as the
-- flow last read them and the target's fields as Tether last wrote them, each with when, plus the
-- target's version after that write. JSON text; NULL for links written before two-way sync, which
-- then behave as a first sight of the record.
ALTER TABLE links ADD COLUMN sync_state TEXT;

-- Every link whose source is a record, whichever flow made it: how one flow learns what another
-- flow read of a record (the target side is `links_by_target`).
CREATE INDEX links_by_source ON links (source_app, source_type, source_id);
