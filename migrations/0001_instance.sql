-- The hub installation's identity. Later issues name this instance in signed audit tree
-- heads and exports, so that logs of two hubs can never be confused.
CREATE TABLE hub_instance (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    instance_id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO hub_instance DEFAULT VALUES;
