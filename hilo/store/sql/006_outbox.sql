-- Exactly-once effects on an at-least-once bus (hilo/outbox.py).
--
-- hilo_tracking: which events a consumer has handled; written in the same transaction as the
-- consumer's own state, so a redelivered or replayed event is recognised and skipped.
-- hilo_outbox: events a service decided to publish, written in that same transaction and
-- published afterwards in (conversation, id) order with the event id as Nats-Msg-Id.
-- hilo_dead_work: work a service gave up on after its retries, with the reason.

CREATE TABLE IF NOT EXISTS hilo_tracking (
    consumer    text NOT NULL,
    event_id    uuid NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE IF NOT EXISTS hilo_outbox (
    id               bigserial PRIMARY KEY,
    owner            text NOT NULL,
    event_id         uuid NOT NULL,
    conversation     text NOT NULL,
    event_type       text NOT NULL,
    payload          text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_error       text,
    dead_at          timestamptz,
    UNIQUE (owner, event_id)
);
CREATE INDEX IF NOT EXISTS hilo_outbox_pending
    ON hilo_outbox (owner, conversation, id) WHERE published_at IS NULL AND dead_at IS NULL;

CREATE TABLE IF NOT EXISTS hilo_dead_work (
    owner         text NOT NULL,
    work_id       text NOT NULL,
    conversation  text,
    reason        text NOT NULL,
    attempts      integer NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}',
    failed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, work_id)
);
