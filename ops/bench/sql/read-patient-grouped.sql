-- The ceiling of GET /fhir/Patient/{id} when 16 reads share one audit commit (group commit):
-- 16 read queries, then their 16 audit records in one statement and one commit. Reads per
-- second are 16 × this script's transactions per second.
\set n random(1, :samples)
SELECT patient_id FROM bench_samples WHERE n = :n \gset
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = :patient_id;
INSERT INTO bench_audit_queue (record, recorded_at, action, patient, client, organization, user_id)
SELECT decode(repeat(md5(random()::text), :leaf_blocks), 'hex'), now(), 'read', :patient_id, NULL, 'dev-hospital', 'bench-clinician'
FROM generate_series(1, 16);
