-- The audit trail (docs/audit.md). Records are queued durably first (in the transaction of the
-- write they describe, or by the group-committing writer for reads), then integrated into the
-- Merkle tree in queue order by one sequencer at a time.
CREATE TABLE audit_queue (
    seq          bigserial PRIMARY KEY,
    record       bytea NOT NULL,              -- the leaf bytes (canonical JSON)
    recorded_at  timestamptz NOT NULL,
    action       text NOT NULL,
    patient      text,
    client       text,
    organization text,
    user_id      text
);

-- The log: leaf `idx` of the tree. The columns after `leaf_hash` repeat what the record says,
-- for searches and reports; verifiers only trust `record`.
CREATE TABLE audit_log (
    idx          bigint PRIMARY KEY CHECK (idx >= 0),
    record       bytea NOT NULL,
    leaf_hash    bytea NOT NULL,
    recorded_at  timestamptz NOT NULL,
    action       text NOT NULL,
    patient      text,
    client       text,
    organization text,
    user_id      text
);
CREATE INDEX audit_log_patient ON audit_log (patient, idx) WHERE patient IS NOT NULL;
CREATE INDEX audit_log_time ON audit_log (recorded_at);
CREATE INDEX audit_log_organization ON audit_log (organization, recorded_at);

-- Hashes of the complete subtrees of 2^level leaves (level >= 1) starting at leaf idx << level:
-- any proof is a few of these.
CREATE TABLE audit_nodes (
    level        smallint NOT NULL CHECK (level >= 1),
    idx          bigint NOT NULL CHECK (idx >= 0),
    hash         bytea NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed tree heads, as published.
CREATE TABLE audit_checkpoints (
    tree_size    bigint PRIMARY KEY,
    root_hash    bytea NOT NULL,
    signed_at    timestamptz NOT NULL,
    note         text NOT NULL
);

-- Append-only: no API updates or deletes these, and neither can a stray statement. (Someone
-- with the table owner's rights can still drop the trigger; the signed tree heads are what
-- make that detectable.)
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
