-- pgbench twin of GET /fhir/Patient/{id}: the hub's read query, on a random loaded patient.
\set n random(1, :samples)
SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND r.id = (SELECT patient_id FROM bench_samples WHERE n = :n::bigint);
