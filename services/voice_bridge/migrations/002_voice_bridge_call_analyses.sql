-- The opener after a call may wait for the analyzer's reading of the call (call.analyzed)
-- when ElevenLabs data collection gave no pending questions and no next steps.

-- What the analyzer published for a call, whichever arrives first: it or the call itself.
CREATE TABLE IF NOT EXISTS voice_bridge_call_analyses (
    call_id       text PRIMARY KEY,
    conversation  text NOT NULL,
    pending       jsonb NOT NULL DEFAULT '[]'::jsonb,
    next_steps    jsonb NOT NULL DEFAULT '[]'::jsonb,
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- Set while the opener waits for that analysis: at this time it is sent without it.
ALTER TABLE voice_bridge_handoffs ADD COLUMN IF NOT EXISTS opener_due_at timestamptz;
ALTER TABLE voice_bridge_handoffs ADD COLUMN IF NOT EXISTS correlation_id uuid;
-- When a held opener was claimed for sending (with the analysis or at its deadline).
ALTER TABLE voice_bridge_handoffs ADD COLUMN IF NOT EXISTS opener_released_at timestamptz;
CREATE INDEX IF NOT EXISTS voice_bridge_handoffs_waiting
    ON voice_bridge_handoffs (opener_due_at) WHERE published_at IS NULL;
