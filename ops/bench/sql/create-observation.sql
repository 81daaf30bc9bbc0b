-- pgbench twin of POST /fhir/Observation: the rows the hub writes for one laboratory
-- Observation (the version with a sealed body of the same size, the current-version row, and
-- its index rows: code, category, status; subject, patient; date; value — and its audit record,
-- in a copy of the audit queue), in one transaction.
-- Its ids start with `pgbench-`: ops/bench/fhir deletes these rows afterwards, as their bodies
-- are random bytes the hub could not open.
\set n random(1, :samples)
WITH o AS (SELECT 'pgbench-' || gen_random_uuid()::text AS id, now() AS at, patient_id AS p FROM bench_samples WHERE n = :n::bigint),
v AS (INSERT INTO resource_versions (type, id, version, last_updated, deleted, subject, body)
      SELECT 'Observation', id, 1, at, false, 'Patient/' || p, decode(repeat(md5(random()::text), :body_blocks), 'hex') FROM o),
c AS (INSERT INTO resources (type, id, version, last_updated, deleted, patient_id)
      SELECT 'Observation', id, 1, at, false, p FROM o),
t AS (INSERT INTO search_token (type, id, param, system, code)
      SELECT 'Observation', id, x.param, x.system, x.code FROM o,
        (VALUES ('code', 'http://loinc.org', '2345-7'),
                ('category', 'http://terminology.hl7.org/CodeSystem/observation-category', 'laboratory'),
                ('status', '', 'final')) AS x(param, system, code)),
f AS (INSERT INTO search_reference (type, id, param, target_type, target_id)
      SELECT 'Observation', id, x.param, 'Patient', p FROM o, (VALUES ('subject'), ('patient')) AS x(param)),
d AS (INSERT INTO search_date (type, id, param, low, high)
      SELECT 'Observation', id, 'date', at, at + interval '1 second' FROM o),
q AS (INSERT INTO search_quantity (type, id, param, value, system, code)
      SELECT 'Observation', id, 'value-quantity', 5.6, 'http://unitsofmeasure.org', 'mmol/L' FROM o),
a AS (INSERT INTO bench_audit_queue (record, recorded_at, action, patient, client, organization, user_id)
      SELECT decode(repeat(md5(random()::text), :leaf_blocks), 'hex'), at, 'create', p, NULL, 'dev-hospital', 'bench-clinician' FROM o)
SELECT 1;
