-- FHIR Bulk Data import (issue #19, docs/bulk-data.md, "Import"). A hospital system stages its
-- NDJSON on the hub (`POST /fhir/$import-input`, one piece per request, each sealed under a
-- data key of its own, `import:<input id>`), then kicks off a job naming the pieces
-- (`POST /fhir/$import`). A runner writes every line as a create, a batch at a time: each
-- batch's resources, its refused lines' OperationOutcomes and the cursor after it commit in one
-- transaction, so a job resumes after a crash exactly where it stopped.
CREATE TABLE import_jobs (
    id               uuid PRIMARY KEY,
    organization     text NOT NULL,
    principal        text NOT NULL,              -- the client that asked; only it polls and cancels
    request          bytea NOT NULL,             -- SealedBox of the request and its caller
    state            text NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed')),
    -- Where a running job is: the input (in processing order) and the line within it.
    input_index      integer NOT NULL DEFAULT 0,
    line_offset      integer NOT NULL DEFAULT 0,
    created          bigint NOT NULL DEFAULT 0,  -- lines written as new resources
    skipped          bigint NOT NULL DEFAULT 0,  -- lines whose resource an earlier run already wrote
    refused          bigint NOT NULL DEFAULT 0,  -- lines refused, each with an OperationOutcome
    lines            bigint NOT NULL,
    lease_owner      text,
    lease_until      timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    error            text,                       -- why it failed, without patient data
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    expires_at       timestamptz
);
-- One job in progress per client: a second kick-off is answered 429.
CREATE UNIQUE INDEX import_jobs_one_active ON import_jobs (principal) WHERE state IN ('queued', 'running');
CREATE INDEX import_jobs_due ON import_jobs (created_at) WHERE state IN ('queued', 'running');
CREATE INDEX import_jobs_expiry ON import_jobs (expires_at) WHERE expires_at IS NOT NULL;

-- A staged piece of NDJSON: its client's until a job takes it, then the job's (deleted with it).
CREATE TABLE import_inputs (
    id           uuid PRIMARY KEY,
    organization text NOT NULL,
    principal    text NOT NULL,
    job_id       uuid REFERENCES import_jobs (id) ON DELETE CASCADE,
    position     integer,                        -- its place among the job's inputs, as the kick-off named them
    type         text,                           -- the resource type the kick-off declared for it
    lines        integer NOT NULL,
    bytes        integer NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    CHECK ((job_id IS NULL) = (position IS NULL) AND (job_id IS NULL) = (type IS NULL))
);
CREATE INDEX import_inputs_job ON import_inputs (job_id, position);
CREATE INDEX import_inputs_expiry ON import_inputs (expires_at);

-- The OperationOutcomes of one batch's refused lines (NDJSON, sealed under `import:<job id>`);
-- the key makes a batch committed twice (a runner that lost its lease) one row.
CREATE TABLE import_outcomes (
    job_id      uuid NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    input_index integer NOT NULL,
    line_offset integer NOT NULL,
    refused     integer NOT NULL,
    body        bytea NOT NULL,
    PRIMARY KEY (job_id, input_index, line_offset)
);
