-- Where each live feed of the audit log (the syslog feed to an audit record repository) has got
-- to: the index of the next record to send. Advanced only after the records before it were
-- written to the repository's connection, so a feed resumes after a restart where it stopped
-- (at-least-once: a batch in flight when the hub stopped is sent again).
CREATE TABLE audit_feeds (
    name        text PRIMARY KEY,
    next_index  bigint NOT NULL CHECK (next_index >= 0)
);
