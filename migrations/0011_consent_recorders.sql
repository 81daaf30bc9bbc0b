-- Who recorded each consent rule, and when: a patient's denial is overridden only by a permit
-- recorded later, and never by a permit an organization recorded for itself against another
-- organization's record of the denial (docs/security.md, "Consent").
ALTER TABLE consent_rules ADD COLUMN recorded_by text;
ALTER TABLE consent_rules ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();
