-- The analyzer answers only what the router assigns to it (message.routed): it keeps no
-- copy of the conversation's mode any more. An inbox row waits for its message's routing;
-- rows queued before this change were decided by the old rule and count as routed.
ALTER TABLE analyzer_inbox ADD COLUMN IF NOT EXISTS routed boolean NOT NULL DEFAULT true;
ALTER TABLE analyzer_inbox ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE analyzer_inbox ADD COLUMN IF NOT EXISTS last_error text;
ALTER TABLE analyzer_inbox ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz;
-- Who the router gave each inbound message to (NULL: not routed yet).
ALTER TABLE analyzer_messages ADD COLUMN IF NOT EXISTS answerer text;
ALTER TABLE analyzer_contacts DROP COLUMN IF EXISTS mode;
ALTER TABLE analyzer_contacts DROP COLUMN IF EXISTS mode_event_id;
ALTER TABLE analyzer_contacts DROP COLUMN IF EXISTS mode_changed_at;

-- The router's decisions as they arrive. A crash can reorder a conversation's events (the
-- unacked message comes back after the ack wait, its routing may come first): the message,
-- when it comes, finds its decision here.
CREATE TABLE IF NOT EXISTS analyzer_routes (
    message_id  uuid PRIMARY KEY,
    answerer    text NOT NULL,
    routed_at   timestamptz NOT NULL DEFAULT now()
);
