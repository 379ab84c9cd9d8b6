-- The analyzer's own state, built from the events its one consumer receives, in stream order.

-- One row per contact: who answers, what we know of them, the last call's summary.
CREATE TABLE IF NOT EXISTS analyzer_contacts (
    conversation     text PRIMARY KEY,
    contact_name     text,
    business_number  text,                 -- digits only, the number the contact wrote to
    mode             text NOT NULL DEFAULT 'analyzer',   -- analyzer | voice_agent | human
    mode_event_id    uuid,
    -- When the applied mode change / call happened: a partial replay of an older one
    -- must not undo a newer one.
    mode_changed_at  timestamptz,
    call_summary     text,
    call_id          text,
    call_at          timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS analyzer_contacts_business ON analyzer_contacts (business_number);

-- The conversation as the analyzer reads it: inbound messages (id = message event id),
-- voice-note transcripts (the same id, replacing the pending audio) and outbound replies.
CREATE TABLE IF NOT EXISTS analyzer_messages (
    message_id    uuid PRIMARY KEY,
    seq           bigserial,
    conversation  text NOT NULL,
    direction     text NOT NULL,            -- inbound | outbound
    at            timestamptz NOT NULL,
    text          text NOT NULL DEFAULT '',
    source        text NOT NULL DEFAULT 'text',   -- text | voice_note | call
    -- audio_pending: a voice note waiting for its transcript; audio_failed: none will come.
    audio_pending boolean NOT NULL DEFAULT false,
    audio_failed  boolean NOT NULL DEFAULT false,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS analyzer_messages_conversation ON analyzer_messages (conversation, seq);

-- What must be analysed (and maybe answered): one row per triggering event. A burst is the
-- set of rows analysed together; burst_id (the last row's trigger id) is written before
-- anything is published, so a crash resumes the SAME burst and derives the same ids.
CREATE TABLE IF NOT EXISTS analyzer_inbox (
    trigger_id      uuid PRIMARY KEY,       -- message event id, or a late transcript's event id
    seq             bigserial,
    conversation    text NOT NULL,
    message_id      uuid NOT NULL,
    cause_event_id  uuid NOT NULL,
    correlation_id  uuid NOT NULL,
    reply_wanted    boolean NOT NULL,       -- mode analyzer when it arrived, and not a replay
    queued_at       timestamptz NOT NULL,
    burst_id        uuid,
    replied         boolean NOT NULL DEFAULT false,
    processed_at    timestamptz
);
CREATE INDEX IF NOT EXISTS analyzer_inbox_open
    ON analyzer_inbox (conversation, seq) WHERE processed_at IS NULL;

-- The calendar as published: the diff's "before". One row per calendar_event_id.
CREATE TABLE IF NOT EXISTS analyzer_calendar_events (
    calendar_event_id  uuid PRIMARY KEY,
    conversation       text NOT NULL,
    business_number    text,
    key                text NOT NULL,
    title              text NOT NULL,
    start_at           timestamptz,          -- set when a time was agreed
    start_date         date,                 -- set when only a day was agreed
    end_at             timestamptz,
    timezone           text NOT NULL,
    location           text,
    kind               text NOT NULL DEFAULT 'meeting',
    status             text NOT NULL,        -- standing | cancelled
    sequence           integer NOT NULL DEFAULT 0,   -- iCalendar SEQUENCE, bumped on change
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS analyzer_calendar_events_conversation
    ON analyzer_calendar_events (conversation);
CREATE INDEX IF NOT EXISTS analyzer_calendar_events_business
    ON analyzer_calendar_events (business_number);

-- Follow-up tasks as published. One row per task_id.
CREATE TABLE IF NOT EXISTS analyzer_tasks (
    task_id       uuid PRIMARY KEY,
    conversation  text NOT NULL,
    key           text NOT NULL,
    title         text NOT NULL,
    task_type     text NOT NULL,
    priority      integer NOT NULL,
    due           date,
    status        text NOT NULL DEFAULT 'open',
    revision      integer NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS analyzer_tasks_conversation ON analyzer_tasks (conversation);
