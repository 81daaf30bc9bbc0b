-- The clinical record store. Every version of every resource is kept, encrypted with its
-- patient's data key (see docs/storage.md); `resources` holds only what identifies the current
-- version, so that searches (issue #4's index tables, keyed by type and id) never join through
-- history.
CREATE TABLE resource_versions (
    type         text NOT NULL,
    id           text NOT NULL,
    version      integer NOT NULL CHECK (version >= 1),
    last_updated timestamptz NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    subject      text NOT NULL,               -- whose data key seals `body`
    body         bytea,                       -- SealedBox of the JSON; NULL for a deletion
    row_key      text GENERATED ALWAYS AS (type || '/' || id || '/' || version) STORED,
    PRIMARY KEY (type, id, version),
    CHECK (deleted = (body IS NULL))
);
CREATE UNIQUE INDEX resource_versions_row_key ON resource_versions (row_key);
-- History by time (type and system history, `_since`).
CREATE INDEX resource_versions_updated ON resource_versions (last_updated);

CREATE TABLE resources (
    type         text NOT NULL,
    id           text NOT NULL,
    version      integer NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    patient_id   text,                        -- the patient compartment it belongs to, if any
    PRIMARY KEY (type, id),
    FOREIGN KEY (type, id, version) REFERENCES resource_versions (type, id, version)
);
CREATE INDEX resources_patient ON resources (patient_id, type) WHERE NOT deleted;
CREATE INDEX resources_type_updated ON resources (type, last_updated, id) WHERE NOT deleted;
