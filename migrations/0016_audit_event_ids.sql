-- `GET /fhir/AuditEvent/{id}` (issue #15): an AuditEvent's id is its record's id, inside the
-- signed leaf bytes. An expression index finds it there without a second copy of it (the log is
-- append-only: a column could not be filled in for the records already in it).
--
-- The id is read from the leaf's text, not parsed as JSON: PostgreSQL's JSON types refuse some
-- strings a leaf may hold (`\u0000` in a parameter name or a break-glass reason), and an index
-- expression that fails would stop the log from growing. A leaf's members are strings or arrays
-- of strings, every `"` inside a string is escaped, so `"id":"` occurs once: the top-level key.
-- `encode(…, 'escape')` reads any bytes, and leaves quotes and the ASCII id as they are.
CREATE FUNCTION audit_record_id(record bytea) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT substring(encode(record, 'escape') FROM '"id":"([^"\\]*)"') $$;
-- Built in the migration's transaction, so not CONCURRENTLY: on a large log, run this migration
-- in a quiet hour (integration waits for it; requests are still answered and queued).
CREATE INDEX audit_log_record_id ON audit_log (audit_record_id(record));
