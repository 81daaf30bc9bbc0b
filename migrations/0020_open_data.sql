-- De-identified open data (issue #19, docs/open-data.md): datasets a regulator defines and another
-- approves, and the releases the hub computes from the records and a regulator publishes.
CREATE TABLE open_datasets (
    id                   uuid PRIMARY KEY,
    definition           jsonb NOT NULL,          -- DatasetDefinition, validated (k filled in)
    classification       text NOT NULL CHECK (classification IN ('public', 'restricted', 'internal')),
    defined_by           text NOT NULL,
    defined_at           timestamptz NOT NULL DEFAULT now(),
    approved_by          text,
    approved_at          timestamptz,
    withdrawn_by         text,
    withdrawn_at         timestamptz,
    -- A release is wanted (set at approval and when a regulator asks for a new one).
    release_requested_at timestamptz,
    lease_owner          text,
    lease_until          timestamptz,
    attempts             integer NOT NULL DEFAULT 0,
    error                text,                    -- why the last computation failed, without patient data
    -- The two-person rule: nobody approves what they defined.
    CONSTRAINT open_datasets_two_people CHECK (approved_by IS DISTINCT FROM defined_by)
);
CREATE INDEX open_datasets_due ON open_datasets (release_requested_at)
    WHERE release_requested_at IS NOT NULL AND approved_by IS NOT NULL AND withdrawn_at IS NULL;

CREATE TABLE open_releases (
    dataset_id     uuid NOT NULL REFERENCES open_datasets (id),
    number         integer NOT NULL,
    records_as_of  timestamptz NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    release        bytea NOT NULL,                -- DatasetRelease as computed (JSON), for review
    published_by   text,
    published_at   timestamptz,
    -- At publication: the release without its table (what the public catalog lists, so that a
    -- catalog request reads no rows), the renderings exactly as served, and the hub's signatures.
    summary        bytea,
    json           bytea,
    json_signature text,
    csv            bytea,
    csv_signature  text,
    PRIMARY KEY (dataset_id, number),
    CHECK ((published_at IS NULL) = (json IS NULL) AND (published_at IS NULL) = (summary IS NULL))
);
