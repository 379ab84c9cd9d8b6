-- The operator inbox's read models, kept by the projector (hilo/projections/inbox.py) and
-- rebuilt from the store with `hilo projections rebuild inbox`.

-- One row per contact: the conversation list. `doc` holds the fold's own state.
CREATE TABLE IF NOT EXISTS proj_inbox_conversations (
    contact          text        PRIMARY KEY,
    name             text,
    channel          text        NOT NULL,      -- the channel of the last message
    channels         text[]      NOT NULL,
    last_message_at  timestamptz NOT NULL,
    last_text        text,
    last_direction   text,
    last_inbound_at  timestamptz,
    unread           integer     NOT NULL DEFAULT 0,
    mode             text        NOT NULL DEFAULT 'analyzer',
    sentiment        text,
    open_tasks       integer     NOT NULL DEFAULT 0,
    opted_out        boolean     NOT NULL DEFAULT false,
    -- Folded (lower case, no accents) names, numbers and message texts: the search index.
    search_text      text        NOT NULL DEFAULT '',
    search           tsvector    GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    doc              jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS proj_inbox_conversations_recent
    ON proj_inbox_conversations (last_message_at DESC, contact DESC);
CREATE INDEX IF NOT EXISTS proj_inbox_conversations_search
    ON proj_inbox_conversations USING gin (search);

CREATE TABLE IF NOT EXISTS proj_inbox_tasks (
    task_id     uuid        PRIMARY KEY,
    contact     text        NOT NULL,
    title       text        NOT NULL,
    type        text        NOT NULL,
    priority    integer     NOT NULL,
    due         date,
    status      text        NOT NULL,           -- open | done | cancelled
    assignee    text,
    -- The person who closed it (done/cancelled), when a person did.
    closed_by   text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS proj_inbox_tasks_recent ON proj_inbox_tasks (created_at DESC, task_id DESC);
CREATE INDEX IF NOT EXISTS proj_inbox_tasks_contact ON proj_inbox_tasks (contact);

CREATE TABLE IF NOT EXISTS proj_inbox_calendar (
    calendar_event_id  uuid        PRIMARY KEY,
    contact            text        NOT NULL,
    title              text        NOT NULL,
    -- A bare date when no time was agreed; `starts` orders both (a date at midnight UTC).
    start_at           timestamptz,
    start_date         date,
    starts             timestamptz NOT NULL,
    end_at             timestamptz,
    timezone           text        NOT NULL,
    location           text,
    kind               text        NOT NULL,
    status             text        NOT NULL,     -- scheduled | rescheduled | cancelled
    updated_at         timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS proj_inbox_calendar_starts ON proj_inbox_calendar (starts);

-- Counters per UTC day: (metric, dimension) e.g. ('messages_in', 'whatsapp'), ('intent', 'quote').
CREATE TABLE IF NOT EXISTS proj_inbox_daily (
    day        date   NOT NULL,
    metric     text   NOT NULL,
    dimension  text   NOT NULL DEFAULT '',
    value      bigint NOT NULL,
    PRIMARY KEY (day, metric, dimension)
);

-- One row per first response: how long a contact waited, and who answered.
CREATE TABLE IF NOT EXISTS proj_inbox_responses (
    contact       text             NOT NULL,
    waiting_since timestamptz      NOT NULL,
    day           date             NOT NULL,
    answered_by   text             NOT NULL,   -- automatic | human
    seconds       double precision NOT NULL,
    PRIMARY KEY (contact, waiting_since)
);
CREATE INDEX IF NOT EXISTS proj_inbox_responses_day ON proj_inbox_responses (day);
