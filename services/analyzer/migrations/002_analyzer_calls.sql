-- Finished calls read like chats: which inbox trigger stands for which call, so the worker
-- that analyses the trigger can tell the voice bridge what the call left pending.
CREATE TABLE IF NOT EXISTS analyzer_calls (
    trigger_id    uuid PRIMARY KEY,         -- the call's row in analyzer_inbox
    call_id       text NOT NULL UNIQUE,
    conversation  text NOT NULL,
    call_at       timestamptz NOT NULL,     -- when the call started: its dates resolve against it
    turns         integer NOT NULL
);
