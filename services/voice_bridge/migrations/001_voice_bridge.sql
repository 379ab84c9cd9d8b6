-- The voice bridge's own state, built from the events it consumes.

-- One row per call handed off (or followed up after a failure): a call is handled once,
-- however many times its call.ended arrives (webhook retries, the batch poller, replays).
CREATE TABLE IF NOT EXISTS voice_bridge_handoffs (
    call_id        text PRIMARY KEY,
    conversation   text NOT NULL,
    cause_event_id uuid NOT NULL,
    outcome        text NOT NULL,          -- handed_off | failed_follow_up | failed_silent
    context        jsonb NOT NULL DEFAULT '{}'::jsonb,
    opener_text    text,
    published_at   timestamptz,            -- null until its events were acknowledged by NATS
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS voice_bridge_handoffs_conversation
    ON voice_bridge_handoffs (conversation, created_at DESC);

-- Who answers each conversation, as the bridge's consumer saw conversation.mode_changed in order.
CREATE TABLE IF NOT EXISTS voice_bridge_modes (
    conversation     text PRIMARY KEY,
    mode             text NOT NULL,
    call_id          text,
    changed_at       timestamptz NOT NULL,
    last_message_at  timestamptz NOT NULL,
    mode_event_id    uuid NOT NULL
);

-- Each inbound message the agent must answer: queued by the consumer (so a slow agent never
-- holds the consumer), answered and published by the conversation's relay worker. A
-- redelivery or replay finds the row and asks nothing again.
CREATE TABLE IF NOT EXISTS voice_bridge_replies (
    message_event_id uuid PRIMARY KEY,
    position         bigserial,
    conversation     text NOT NULL,
    cause_event_id   uuid NOT NULL,         -- the message.received / audio.transcribed event
    correlation_id   uuid NOT NULL,
    question         text NOT NULL,
    asked_at         timestamptz NOT NULL,  -- when the customer wrote
    language         text,
    reply_event_id   uuid NOT NULL,
    reply_id         uuid NOT NULL,
    text             text,                  -- null until answered
    outcome          text,                  -- agent | fallback
    failure_reason   text,
    answered_at      timestamptz,
    published_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS voice_bridge_replies_unpublished
    ON voice_bridge_replies (conversation, position) WHERE published_at IS NULL;

-- The WhatsApp side of voice-agent conversations, given back to the agent as context.
CREATE TABLE IF NOT EXISTS voice_bridge_messages (
    conversation text NOT NULL,
    event_id     uuid NOT NULL,
    role         text NOT NULL,            -- customer | agent
    text         text NOT NULL,
    at           timestamptz NOT NULL,
    PRIMARY KEY (conversation, event_id)
);
