-- Data keys: one per subject (a patient) and cipher, stored only wrapped by a key-encryption
-- key from the key store. Crypto-erasure of a subject sets `wrapped` to NULL: everything sealed
-- under that key becomes unreadable, everywhere, at once.
CREATE TABLE data_keys (
    key_id     text PRIMARY KEY,
    subject    text NOT NULL,
    algorithm  text NOT NULL,              -- the data key's cipher, e.g. SM4-GCM
    wrapped    bytea,                      -- header-described wrapped key; NULL once erased
    kek_id     text,                       -- the key-encryption key named in `wrapped`'s header
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);

-- At most one live data key per subject and cipher.
CREATE UNIQUE INDEX data_keys_live ON data_keys (subject, algorithm) WHERE erased_at IS NULL;
-- Re-wrapping after a key-encryption-key rotation looks keys up by their KEK.
CREATE INDEX data_keys_by_kek ON data_keys (kek_id) WHERE wrapped IS NOT NULL;

-- Long-running key jobs (re-wrapping, re-encryption to another suite): their progress, so that
-- a job interrupted by a crash resumes where it stopped, and operators can watch it.
CREATE TABLE crypto_jobs (
    name       text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('rewrap', 'reencrypt')),
    target     text NOT NULL,
    cursor     text,
    processed  bigint NOT NULL DEFAULT 0,
    state      text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done')),
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
