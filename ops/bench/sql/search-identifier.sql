-- pgbench twin of GET /fhir/Patient?identifier=system|value: the hub's search query. The
-- identifier's blind index is read from the loaded data, as the hub computes it, and the system
-- too, because pgbench would take the colons of a literal URN for variables. (Scalar
-- subqueries: the hub binds both as parameters, and so the planner sees them.)
\set n random(1, :samples)
SELECT r.id, r.version, r.last_updated, v.body, NULL::text FROM resources r
JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.type = 'Patient' AND NOT r.deleted
  AND r.id IN (SELECT t.id FROM search_token t WHERE t.type = 'Patient' AND t.param = 'identifier'
               AND (t.code = ANY(ARRAY[(SELECT resident_blind FROM bench_samples WHERE n = :n::bigint)])
                    AND (t.system, t.code) IN (SELECT * FROM unnest(ARRAY[(SELECT resident_system FROM bench_samples WHERE n = :n::bigint)],
                                                                    ARRAY[(SELECT resident_blind FROM bench_samples WHERE n = :n::bigint)]))))
ORDER BY r.id LIMIT 21;
