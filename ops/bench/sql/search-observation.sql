-- pgbench twin of GET /fhir/Observation?patient=…&code=http://loinc.org|…&date=ge…: the hub's
-- search query for a random loaded patient, test and day, and the search's audit record
-- committed on its own. (`\gset` fetches the sample first: one more round trip than the hub
-- makes.)
\set n random(1, :samples)
SELECT patient_id, loinc, day FROM bench_samples WHERE n = :n \gset
SELECT r.id, r.version, r.last_updated, v.body, NULL::text FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Observation' AND NOT r.deleted
  AND r.id IN (SELECT f.id FROM search_reference f WHERE f.type = 'Observation' AND f.param = 'patient'
               AND (f.target_id = :patient_id AND f.target_type = 'Patient'))
  AND r.id IN (SELECT t.id FROM search_token t WHERE t.type = 'Observation' AND t.param = 'code'
               AND (t.system = 'http://loinc.org' AND t.code = :loinc))
  AND r.id IN (SELECT d.id FROM search_date d WHERE d.type = 'Observation' AND d.param = 'date'
               AND (d.high > (:day::date + 1)::timestamp AT TIME ZONE '+08'
                    OR (d.low >= :day::date::timestamp AT TIME ZONE '+08' AND d.high <= (:day::date + 1)::timestamp AT TIME ZONE '+08')))
ORDER BY r.id LIMIT 21;
INSERT INTO bench_audit_queue (record, recorded_at, action, patient, client, organization, user_id)
SELECT decode(repeat(md5(random()::text), :leaf_blocks), 'hex'), now(), 'read', :patient_id, NULL, 'dev-hospital', 'bench-clinician'
FROM generate_series(1, 1);
