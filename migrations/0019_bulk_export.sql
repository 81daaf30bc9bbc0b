-- FHIR Bulk Data export (issue #19, docs/bulk-data.md): jobs, the NDJSON they produced (sealed
-- under a data key of their own, `export:<job id>`, erased with the job), and which patients each
-- job holds, so that erasing a patient removes every export that still holds their records.
CREATE TABLE export_jobs (
    id               uuid PRIMARY KEY,
    organization     text NOT NULL,
    principal        text NOT NULL,              -- the client that asked; only it polls, downloads, cancels
    request          bytea NOT NULL,             -- SealedBox of the request and its caller (criteria may hold identifiers)
    population_grant uuid,                       -- the commission's grant it reads under, if any (its status and files end with it)
    transaction_time timestamptz NOT NULL,       -- resources as they were at this instant
    settle_xmax      xid8 NOT NULL,              -- transactions that may still commit versions stamped before it
    state            text NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed')),
    -- Where a running job is: ExportPlan's cursor, committed with each part.
    type_index       integer NOT NULL DEFAULT 0,
    after_id         text,
    file_number      integer NOT NULL DEFAULT 1,
    in_file          integer NOT NULL DEFAULT 0,
    part_number      integer NOT NULL DEFAULT 1,
    exported         bigint NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_until      timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    error            text,                       -- why it failed, without patient data
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    expires_at       timestamptz
);
-- One job in progress per client: a second kick-off is answered 429.
CREATE UNIQUE INDEX export_jobs_one_active ON export_jobs (principal) WHERE state IN ('queued', 'running');
CREATE INDEX export_jobs_due ON export_jobs (created_at) WHERE state IN ('queued', 'running');
CREATE INDEX export_jobs_expiry ON export_jobs (expires_at) WHERE expires_at IS NOT NULL;

-- One page of one type's file: at most ExportPlan.pageSize resources, NDJSON, sealed. The key
-- makes a page written twice (a runner that lost its lease) one row.
CREATE TABLE export_parts (
    job_id      uuid NOT NULL REFERENCES export_jobs (id) ON DELETE CASCADE,
    type        text NOT NULL,
    file_number integer NOT NULL,
    part_number integer NOT NULL,
    resources   integer NOT NULL,
    patients    text[] NOT NULL,                 -- whose records it holds (the download's audit names them)
    body        bytea NOT NULL,
    PRIMARY KEY (job_id, type, file_number, part_number)
);

CREATE TABLE export_patients (
    patient_id text NOT NULL,
    job_id     uuid NOT NULL REFERENCES export_jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (patient_id, job_id)
);
CREATE INDEX export_patients_job ON export_patients (job_id);
-- A page is not committed when one of its patients was erased after the job's transaction time.
CREATE INDEX data_keys_erased ON data_keys (subject, erased_at) WHERE erased_at IS NOT NULL;

-- Population exports (docs/security.md, "Bulk export"): the health commission grants an
-- organization — the city's health data center — the export of every hospital's records, for a
-- purpose and a period, on a recorded basis, to the systems it names; one administrator records
-- it, another approves it. Only $export reads through a grant; revoking it ends the exports in
-- progress at their next page and closes the files of those done.
CREATE TABLE population_export_grants (
    id              uuid PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id),
    clients         text[] NOT NULL CHECK (cardinality(clients) BETWEEN 1 AND 10),  -- the systems that may export under it
    purpose         text NOT NULL CHECK (purpose IN ('PUBHLTH', 'HRESCH', 'HOPERAT', 'HQUALIMP')),
    basis           text NOT NULL CHECK (length(basis) BETWEEN 1 AND 500),
    granted_by      text NOT NULL,
    approved_by     text CHECK (approved_by <> granted_by),  -- a second administrator: in force only once approved
    approved_at     timestamptz,
    period          tstzrange NOT NULL CHECK (NOT isempty(period)),
    revoked_at      timestamptz,
    revoked_by      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX population_export_grants_organization ON population_export_grants (organization_id) WHERE revoked_at IS NULL;
