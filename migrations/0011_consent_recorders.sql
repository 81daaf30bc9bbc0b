-- Who recorded each consent rule, and when: a patient's denial is overridden only by a permit
-- recorded later, and never by a permit an organization recorded for itself against another
-- organization's record of the denial (docs/security.md, "Consent").
ALTER TABLE consent_rules ADD COLUMN recorded_by text;
ALTER TABLE consent_rules ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();
-- Rules recorded before: by the Consent's author, when its current version was written (else a
-- migration instant shared by every old rule would undo their order).
UPDATE consent_rules k SET recorded_by = r.organization, recorded_at = r.last_updated
FROM resources r WHERE r.type = 'Consent' AND r.id = k.consent_id;
