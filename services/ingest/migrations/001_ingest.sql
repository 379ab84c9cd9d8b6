-- Ingest's own state: which provider deliveries were already published, shared by every replica.

-- One row per provider delivery (a Twilio MessageSid, a Meta wamid, a status of either, an
-- ElevenLabs conversation id and webhook type), written only after JetStream acknowledged the
-- event. A retry that finds its row is answered 2xx and publishes nothing; a crash between the
-- acknowledgement and this row only means the retry publishes the same event id again, which
-- JetStream (Nats-Msg-Id) and the store (unique event_id) absorb.
CREATE TABLE IF NOT EXISTS ingest_deliveries (
    provider      text NOT NULL,
    delivery_key  text NOT NULL,
    event_id      uuid NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, delivery_key)
);
CREATE INDEX IF NOT EXISTS ingest_deliveries_published_at ON ingest_deliveries (published_at);

-- ElevenLabs sends a call's audio in a webhook of its own that names no phone number: the
-- transcription webhook tells which contact a call belongs to. Audio that arrives first waits
-- here (already on disk) until its call's number is known.
CREATE TABLE IF NOT EXISTS ingest_calls (
    call_id        text PRIMARY KEY,
    conversation   text,
    pending_audio  jsonb,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
