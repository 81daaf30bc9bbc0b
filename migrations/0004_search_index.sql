-- Search indexes of current resource versions (docs/storage.md). Written in the same
-- transaction as the version they describe, replaced on update, removed on delete. History is
-- never indexed, so searches never join through versions.
--
-- Identifying strings (names, identifier values) are stored only as blind indexes (keyed
-- HMAC, see docs/crypto.md); codes, dates and references are stored in clear.

CREATE TABLE search_token (
    type   text NOT NULL,
    id     text NOT NULL,
    param  text NOT NULL,
    system text NOT NULL DEFAULT '',        -- '' when the coding has no system
    code   text NOT NULL,                   -- the code, or the blind index (hex) of an identifier value
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);
CREATE INDEX search_token_lookup ON search_token (type, param, code, system);
CREATE INDEX search_token_resource ON search_token (type, id);

CREATE TABLE search_string (
    type   text NOT NULL,
    id     text NOT NULL,
    param  text NOT NULL,
    value  bytea NOT NULL,                  -- blind index of one normalised prefix of the value
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);
CREATE INDEX search_string_lookup ON search_string (type, param, value);
CREATE INDEX search_string_resource ON search_string (type, id);

CREATE TABLE search_reference (
    type        text NOT NULL,
    id          text NOT NULL,
    param       text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);
CREATE INDEX search_reference_lookup ON search_reference (type, param, target_id, target_type);
CREATE INDEX search_reference_resource ON search_reference (type, id);

CREATE TABLE search_date (
    type  text NOT NULL,
    id    text NOT NULL,
    param text NOT NULL,
    low   timestamptz NOT NULL,             -- the value's range at its precision:
    high  timestamptz NOT NULL,             -- 2024-03 covers [2024-03-01, 2024-04-01)
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);
CREATE INDEX search_date_lookup ON search_date (type, param, low, high);
CREATE INDEX search_date_resource ON search_date (type, id);
