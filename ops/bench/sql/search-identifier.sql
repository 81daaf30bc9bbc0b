-- pgbench twin of GET /fhir/Patient?identifier=system|value: the hub's search query, with the
-- identifier's blind index read from the loaded data as the hub computes it, and the search's
-- audit record committed on its own. (`\gset` fetches the sample first: one more round trip
-- than the hub makes.)
\set n random(1, :samples)
SELECT resident_system, resident_blind FROM bench_samples WHERE n = :n \gset
SELECT r.id, r.version, r.last_updated, v.body, NULL::text FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND NOT r.deleted
  AND r.id IN (SELECT t.id FROM search_token t WHERE t.type = 'Patient' AND t.param = 'identifier'
               AND (t.system = :resident_system AND t.code = :resident_blind))
ORDER BY r.id LIMIT 21;
INSERT INTO bench_audit_queue (record, recorded_at, action, patient, client, organization, user_id)
SELECT decode(repeat(md5(random()::text), :leaf_blocks), 'hex'), now(), 'read', NULL, NULL, 'dev-hospital', 'bench-clinician'
FROM generate_series(1, 1);
