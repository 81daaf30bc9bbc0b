-- How the stored records' derived rows (search index, patient) were computed. Format 2 (issue
-- #14): blind indexes separated per search parameter, contained resources classified. Records
-- stored under format 1 must be processed again (`hub records reprocess`) before the hub
-- serves them: their index rows would no longer be found, and uniqueness of resident ID
-- numbers would not be checked. An empty hub starts at the current format.
ALTER TABLE hub_instance ADD COLUMN records_format integer NOT NULL DEFAULT 2;
UPDATE hub_instance SET records_format = 1 WHERE EXISTS (SELECT 1 FROM resources);
