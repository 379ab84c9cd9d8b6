-- The bridge answers only the messages the router gives the voice agent (message.routed);
-- it keeps no copy of the mode any more, and the router expires quiet conversations.
DROP TABLE IF EXISTS voice_bridge_modes;

-- Inbound messages seen, until the router's decision (and a voice note's words) arrive.
CREATE TABLE IF NOT EXISTS voice_bridge_inbound (
    message_event_id  uuid PRIMARY KEY,
    conversation      text NOT NULL,
    cause_event_id    uuid NOT NULL,
    correlation_id    uuid NOT NULL,
    text              text,                -- null: a voice note without its words yet
    language          text,
    at                timestamptz NOT NULL,
    routed_to_agent   boolean NOT NULL DEFAULT false,
    call_id           text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE voice_bridge_replies ADD COLUMN IF NOT EXISTS call_id text;
ALTER TABLE voice_bridge_replies ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE voice_bridge_replies ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz;
