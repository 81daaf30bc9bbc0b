-- Which hub sends a live feed of the audit log, when several share the database: the holder of
-- a lease renewed at every round. Another hub takes the feed over when the lease has run out
-- (its holder stopped or died) or was given up at a clean shutdown.
ALTER TABLE audit_feeds
    ADD COLUMN holder     text,
    ADD COLUMN held_until timestamptz;
