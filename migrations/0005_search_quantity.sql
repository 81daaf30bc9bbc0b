-- Quantity search values (Observation.valueQuantity and the like): exact decimals with their
-- unit system and code (docs/storage.md).
CREATE TABLE search_quantity (
    type   text NOT NULL,
    id     text NOT NULL,
    param  text NOT NULL,
    value  numeric NOT NULL,
    system text NOT NULL DEFAULT '',
    code   text NOT NULL DEFAULT '',
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);
CREATE INDEX search_quantity_lookup ON search_quantity (type, param, code, value);
CREATE INDEX search_quantity_resource ON search_quantity (type, id);
