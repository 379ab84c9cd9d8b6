CREATE TABLE IF NOT EXISTS proj_conversations (
    conversation      text        PRIMARY KEY,
    contact_name      text,
    provider          text,
    mode              text        NOT NULL DEFAULT 'analyzer',
    opted_out         boolean     NOT NULL DEFAULT false,
    last_inbound_at   timestamptz,
    last_activity_at  timestamptz,
    message_count     integer     NOT NULL DEFAULT 0,
    doc               jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS proj_conversations_activity ON proj_conversations (last_activity_at DESC);
