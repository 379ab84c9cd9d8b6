-- Who answers each conversation now: the router's one row per conversation, changed only
-- under its row lock, in the same transaction as the tracking record of the fact that
-- changed it and the outbox rows that publish the decision (hilo/outbox.py).
CREATE TABLE IF NOT EXISTS router_holders (
    conversation      text PRIMARY KEY,
    mode              text NOT NULL DEFAULT 'analyzer',
    mode_event_id     uuid,
    call_id           text,
    flow_id           text,
    session_id        uuid,
    operator          text,
    last_activity_at  timestamptz,
    expires_at        timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS router_holders_expiring
    ON router_holders (expires_at) WHERE expires_at IS NOT NULL;
