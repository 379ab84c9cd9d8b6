-- The flows service's own tables: the active session per contact (its row is the lock two
-- replicas share), the texts of inbound messages (message.routed names them by id), and the
-- outside API's rounds (recorded before the first attempt, the outcome after). Decisions are
-- tracked by input in hilo_tracking, their events go out through hilo_outbox.
CREATE TABLE IF NOT EXISTS flow_contacts (
    contact text PRIMARY KEY,
    session jsonb,
    deadline timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS flow_contacts_deadline ON flow_contacts (deadline)
    WHERE deadline IS NOT NULL;

CREATE TABLE IF NOT EXISTS flow_messages (
    message_event_id uuid PRIMARY KEY,
    contact text NOT NULL,
    kind text NOT NULL,
    text text,
    reply_id text,
    routed boolean NOT NULL DEFAULT false,
    routed_flow_id text,
    routed_reason text,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS flow_api_calls (
    session_id uuid NOT NULL,
    round integer NOT NULL,
    contact text NOT NULL,
    flow_id text NOT NULL,
    language text NOT NULL,
    payload jsonb NOT NULL,
    -- pending: to call; answered / failed: the outcome, applied once `applied` is true.
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    claimed_until timestamptz,
    outcome jsonb,
    applied boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, round)
);
