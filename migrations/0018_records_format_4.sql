-- Records format 4 (issue #15): every search parameter FHIR R4 defines for the stored types is
-- indexed (Sources/HubFHIR/Generated/ResourceType+SearchParameters.swift, generated from R4's
-- SearchParameter definitions), `_source` among them; strings other than names keep prefixes
-- and the whole value only; composite parameters get their table. Records stored under format 3 must be processed again
-- (`hub records reprocess`) before the hub serves them; an empty hub starts at format 4.
ALTER TABLE hub_instance ALTER COLUMN records_format SET DEFAULT 4;
UPDATE hub_instance SET records_format = 4 WHERE NOT EXISTS (SELECT 1 FROM resources);

-- Composite parameters (`code-value-quantity=http://loinc.org|2345-7$gt7|http://unitsofmeasure.org|mmol/L`):
-- one row per pair of components found in one element (the resource, or one `component`), so a
-- code never pairs with the value of another component. The second component is kept as its kind
-- needs: a token's system and code (or a string's blind key, hex) in value_system/value_code, a
-- quantity's number with its unit there, a date's range in value_low/value_high.
CREATE TABLE search_composite (
    type         text NOT NULL,
    id           text NOT NULL,
    param        text NOT NULL,
    system       text NOT NULL,
    code         text NOT NULL,
    value_system text NOT NULL DEFAULT '',
    value_code   text NOT NULL DEFAULT '',
    value_number numeric,
    value_low    timestamptz,
    value_high   timestamptz,
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);
CREATE INDEX search_composite_lookup ON search_composite (type, param, code, value_code);
CREATE INDEX search_composite_resource ON search_composite (type, id);
