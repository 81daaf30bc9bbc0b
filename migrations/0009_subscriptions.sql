-- Notifications for FHIR R4 Subscriptions (rest-hook), as a transactional outbox.
--
-- Every new version of a type a subscription may watch is recorded in `resource_events` by a
-- trigger, in the transaction that writes it: whatever path wrote it (REST, Bundle, HL7 v2), an
-- event exists exactly when the version does. The hub's matcher turns events into
-- `subscription_notifications` (one per matching subscription) and deletes them; its delivery
-- loop sends those, retrying with back-off until they are delivered or given up ('dead').
CREATE TABLE resource_events (
    seq          bigserial PRIMARY KEY,
    type         text NOT NULL,
    id           text NOT NULL,
    version      integer NOT NULL,
    deleted      boolean NOT NULL,
    occurred_at  timestamptz NOT NULL
);

CREATE FUNCTION record_resource_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO resource_events (type, id, version, deleted, occurred_at)
    SELECT n.type, n.id, n.version, n.deleted, n.last_updated FROM new_versions n
    WHERE n.type IN ('Task', 'ServiceRequest', 'Appointment', 'DiagnosticReport')
    ORDER BY n.last_updated, n.type, n.id, n.version;
    RETURN NULL;
END;
$$;

CREATE TRIGGER resource_versions_events AFTER INSERT ON resource_versions
    REFERENCING NEW TABLE AS new_versions
    FOR EACH STATEMENT EXECUTE FUNCTION record_resource_events();

-- Per subscription: how many notifications it has produced (the `event-number` sequence).
CREATE TABLE subscription_counters (
    subscription_id  text PRIMARY KEY,
    events           bigint NOT NULL DEFAULT 0
);

CREATE TABLE subscription_notifications (
    id               bigserial PRIMARY KEY,
    subscription_id  text NOT NULL,
    organization_id  text NOT NULL,               -- the subscriber
    event_number     bigint NOT NULL,
    focus_type       text NOT NULL,
    focus_id         text NOT NULL,
    focus_version    integer NOT NULL,
    focus_deleted    boolean NOT NULL,
    occurred_at      timestamptz NOT NULL,        -- when the focus version was written
    created_at       timestamptz NOT NULL DEFAULT now(),
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_until    timestamptz,                 -- a delivery in progress (a crashed one expires)
    last_error       text,
    finished_at      timestamptz,
    UNIQUE (subscription_id, event_number)
);
CREATE INDEX subscription_notifications_due ON subscription_notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX subscription_notifications_subscriber ON subscription_notifications (organization_id, state, id);
