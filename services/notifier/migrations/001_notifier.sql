-- The notifier's own state, built from the events of its one consumer (reply.ready and
-- message.received together, so each conversation's stream order decides).

-- Each contact as the notifier last saw them: the channel and time of their last inbound
-- message (the 24-hour window) and whether they opted out.
CREATE TABLE IF NOT EXISTS notifier_contacts (
    conversation          text PRIMARY KEY,
    provider              text,
    last_inbound_at       timestamptz,
    language              text,
    opted_out             boolean NOT NULL DEFAULT false,
    opt_changed_at        timestamptz,           -- occurred_at of the event that set opted_out
    opt_event_id          uuid,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Inbound messages a reply may mark as read (Meta only keeps wamids).
CREATE TABLE IF NOT EXISTS notifier_inbound (
    message_event_id      uuid PRIMARY KEY,
    conversation          text NOT NULL,
    provider              text NOT NULL,
    provider_message_id   text NOT NULL,
    received_at           timestamptz NOT NULL,
    marked_read_at        timestamptz
);

-- One row per reply (the idempotency key), written BEFORE any provider call.
--   pending   known, not tried yet
--   sending   a provider call is (or was, if we crashed) in flight: its outcome is unknown
--   retrying  the last call failed for sure and will be tried again
--   sent | failed | blocked   settled; `outcome` is the event that says so
CREATE TABLE IF NOT EXISTS notifier_outbox (
    reply_id              uuid PRIMARY KEY,
    position              bigserial,
    conversation          text NOT NULL,
    reply                 jsonb NOT NULL,        -- the reply.ready event, as received
    bypass_opt_out        boolean NOT NULL DEFAULT false,
    state                 text NOT NULL DEFAULT 'pending',
    channel               text,
    sender                text,
    via_template          text,
    force_template        boolean NOT NULL DEFAULT false,
    attempts              integer NOT NULL DEFAULT 0,
    first_attempt_at      timestamptz,
    last_attempt_at       timestamptz,
    error_code            text,
    error_reason          text,
    provider_message_id   text,
    outcome               jsonb,
    settled_at            timestamptz,
    published_at          timestamptz,           -- the outcome event was acknowledged by NATS
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notifier_outbox_unpublished
    ON notifier_outbox (conversation, position) WHERE published_at IS NULL;
