-- Records format 3 (issue #15): `:exact` keys hold the value as written (R4 makes `:exact` case-
-- and accent-sensitive), index keys are marked with characters no FHIR string holds, and
-- `identifier` is indexed on every type R4 gives it (Observation, DocumentReference with its
-- masterIdentifier, Encounter, …), as are `_tag`, `_security` and `_profile` on every type. Records stored under format 2 must be processed again
-- (`hub records reprocess`) before the hub serves them; an empty hub starts at format 3.
ALTER TABLE hub_instance ALTER COLUMN records_format SET DEFAULT 3;
UPDATE hub_instance SET records_format = 3 WHERE NOT EXISTS (SELECT 1 FROM resources);
