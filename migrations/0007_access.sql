-- Identities and the facts access decisions rest on (docs/security.md).
--
-- Organizations (hospitals, laboratories, the health commission) and the principals acting for
-- them: clients (hospital systems) and users (clinicians, regulators, administrators).
CREATE TABLE organizations (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9.-]{1,64}$'),
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('hospital', 'laboratory', 'commission', 'other')),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE principals (
    id                 text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9.-]{1,64}$'),
    kind               text NOT NULL CHECK (kind IN ('client', 'user')),
    role               text NOT NULL CHECK (role IN ('system', 'clinician', 'regulator', 'administrator')),
    organization_id    text NOT NULL REFERENCES organizations (id),
    name               text NOT NULL,
    scopes             text[] NOT NULL DEFAULT '{}',
    certificate_sha256 text UNIQUE CHECK (certificate_sha256 ~ '^[0-9a-f]{64}$'),
    public_key         text,                  -- PEM SubjectPublicKeyInfo for signed JWT assertions
    active             boolean NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'client') = (role = 'system'))
);

-- Bearer tokens: only a hash of each is kept. A break-glass token names the one patient it
-- opens and the reason given.
CREATE TABLE access_tokens (
    token_hash         bytea PRIMARY KEY,
    principal_id       text NOT NULL REFERENCES principals (id),
    scopes             text[] NOT NULL,
    issued_at          timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    emergency_patient  text,
    emergency_reason   text,
    CHECK ((emergency_patient IS NULL) = (emergency_reason IS NULL))
);
CREATE INDEX access_tokens_principal ON access_tokens (principal_id);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

-- Client assertions seen, so that a signed JWT cannot be replayed before it expires.
CREATE TABLE client_assertions (
    principal_id text NOT NULL,
    jti          text NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (principal_id, jti)
);

-- Care relationships: an organization registered the patient, or holds an encounter or an
-- appointment for them, or accepted a referral. Kept by the record store in the transaction of
-- the write that establishes them; `basis` is that resource (`Encounter/…`) or `registration`.
CREATE TABLE care_relationships (
    patient_id       text NOT NULL,
    organization_id  text NOT NULL,
    basis            text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, organization_id, basis)
);
CREATE INDEX care_relationships_basis ON care_relationships (basis);

-- A patient's active Consents, as rules: permit or deny sharing with one organization (or with
-- all, for a NULL organization) during `period`.
CREATE TABLE consent_rules (
    consent_id       text NOT NULL,
    patient_id       text NOT NULL,
    organization_id  text,
    permit           boolean NOT NULL,
    period           tstzrange NOT NULL
);
CREATE INDEX consent_rules_patient ON consent_rules (patient_id);
CREATE INDEX consent_rules_consent ON consent_rules (consent_id);

-- The organization whose system or user created each resource: its own records stay visible to
-- it whatever the patient's sharing consents say.
ALTER TABLE resources ADD COLUMN organization text;
