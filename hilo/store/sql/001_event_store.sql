-- The append-only event store.
--
-- Positions are handed out under the row lock of event_store_head inside the
-- append transaction, so they commit in order: a reader that has seen
-- position N never later finds a committed N-1 it missed (no bigserial).

CREATE TABLE IF NOT EXISTS event_store_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position  bigint  NOT NULL
);
INSERT INTO event_store_head (singleton, position) VALUES (true, 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS events (
    position        bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream          text        NOT NULL,
    stream_version  integer     NOT NULL,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    correlation_id  uuid,
    causation_id    uuid,
    data            jsonb       NOT NULL,
    CONSTRAINT events_stream_version_unique UNIQUE (stream, stream_version)
);
CREATE INDEX IF NOT EXISTS events_type_position ON events (type, position);

CREATE TABLE IF NOT EXISTS event_streams (
    stream  text    PRIMARY KEY,
    version integer NOT NULL
);

CREATE OR REPLACE FUNCTION events_are_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the event store is append-only: % on events is refused', TG_OP;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS events_append_only ON events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
DROP TRIGGER IF EXISTS events_no_truncate ON events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- Each projection's position, written in the same transaction as its rows.
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name     text   PRIMARY KEY,
    position bigint NOT NULL
);
