-- Question-flow sessions, one row each, folded from the flow.* events by the projector
-- (hilo/projections/flow_sessions.py); the operator API's /api/flows/sessions reads it.
CREATE TABLE IF NOT EXISTS proj_flow_sessions (
    session_id        uuid        PRIMARY KEY,
    contact           text        NOT NULL,
    flow_id           text        NOT NULL,
    state             text        NOT NULL CHECK (state IN ('active', 'completed', 'abandoned', 'failed', 'reset')),
    language          text,
    round             integer     NOT NULL DEFAULT 1,
    current_question  text,
    answers           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    started_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    failure_reason    text,
    -- Beyond the operator API's columns: how it started, why it ended (abandoned: cancelled,
    -- timed_out, switched, interrupted), and how many questions went out.
    source            text,
    end_reason        text,
    questions_asked   integer     NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS proj_flow_sessions_contact ON proj_flow_sessions (contact, started_at DESC);
CREATE INDEX IF NOT EXISTS proj_flow_sessions_flow_state ON proj_flow_sessions (flow_id, state, updated_at DESC);
