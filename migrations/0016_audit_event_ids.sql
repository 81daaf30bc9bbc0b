-- `GET /fhir/AuditEvent/{id}` (issue #15): an AuditEvent's id is its record's id, inside the
-- signed leaf bytes. An expression index finds it there without a second copy of it (the log is
-- append-only: a column could not be filled in for the records already in it).
CREATE FUNCTION audit_record_id(record bytea) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    -- The leaf is canonical JSON in UTF-8; decoding it depends on nothing else.
    AS $$ SELECT convert_from(record, 'UTF8')::jsonb ->> 'id' $$;
CREATE INDEX audit_log_record_id ON audit_log (audit_record_id(record));
