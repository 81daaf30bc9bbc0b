-- pgbench twin of GET /fhir/Observation?patient=…&code=http://loinc.org|…&date=ge…: the hub's
-- search query for a random loaded patient, test and day (scalar subqueries stand for the
-- values the hub binds as parameters).
\set n random(1, :samples)
SELECT r.id, r.version, r.last_updated, v.body, NULL::text FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Observation' AND NOT r.deleted
  AND r.id IN (SELECT f.id FROM search_reference f WHERE f.type = 'Observation' AND f.param = 'patient'
               AND (f.target_id = ANY(ARRAY[(SELECT patient_id FROM bench_samples WHERE n = :n::bigint)])
                    AND (f.target_id, f.target_type) IN (SELECT * FROM unnest(ARRAY[(SELECT patient_id FROM bench_samples WHERE n = :n::bigint)], ARRAY['Patient']))))
  AND r.id IN (SELECT t.id FROM search_token t WHERE t.type = 'Observation' AND t.param = 'code'
               AND (t.code = ANY(ARRAY[(SELECT loinc FROM bench_samples WHERE n = :n::bigint)])
                    AND (t.system, t.code) IN (SELECT * FROM unnest(ARRAY['http://loinc.org'], ARRAY[(SELECT loinc FROM bench_samples WHERE n = :n::bigint)]))))
  AND r.id IN (SELECT d.id FROM search_date d WHERE d.type = 'Observation' AND d.param = 'date'
               AND (d.high > (SELECT (day + 1)::timestamp AT TIME ZONE '+08' FROM bench_samples WHERE n = :n::bigint)
                    OR (d.low >= (SELECT day::timestamp AT TIME ZONE '+08' FROM bench_samples WHERE n = :n::bigint)
                        AND d.high <= (SELECT (day + 1)::timestamp AT TIME ZONE '+08' FROM bench_samples WHERE n = :n::bigint))))
ORDER BY r.id LIMIT 21;
