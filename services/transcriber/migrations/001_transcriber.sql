-- The retention job's read model (services/transcriber/expiry.py): every recording the event
-- store announced (a voice note's audio.transcribed, a call's call.ended with a transcript),
-- and what of it has been let go. Filled from the store in position order under the job's
-- lock; a row is marked expired in the same transaction that records its expiry event
-- (outbox), so a re-run records nothing twice. Nothing of the person is kept here: the
-- conversation is read from the announcing event when an expiry is recorded.
CREATE TABLE IF NOT EXISTS transcriber_recordings (
    source_event_id       uuid        PRIMARY KEY,
    correlation_id        uuid,
    recorded_at           timestamptz NOT NULL,
    message_event_id      uuid,
    call_id               text,
    audio_sha256          text,
    has_transcript        boolean     NOT NULL DEFAULT false,
    audio_expired_at      timestamptz,
    transcript_expired_at timestamptz
);
CREATE INDEX IF NOT EXISTS transcriber_recordings_audio_due ON transcriber_recordings (recorded_at)
    WHERE audio_expired_at IS NULL AND audio_sha256 IS NOT NULL;
CREATE INDEX IF NOT EXISTS transcriber_recordings_transcript_due
    ON transcriber_recordings (recorded_at)
    WHERE transcript_expired_at IS NULL AND has_transcript;
-- A replayed voice note that expired is not fetched or transcribed again (handlers.py).
CREATE INDEX IF NOT EXISTS transcriber_recordings_message ON transcriber_recordings (message_event_id)
    WHERE message_event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS transcriber_recordings_sha256 ON transcriber_recordings (audio_sha256)
    WHERE audio_sha256 IS NOT NULL;

-- How far into the event store the job has read.
CREATE TABLE IF NOT EXISTS transcriber_retention_checkpoint (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position  bigint  NOT NULL
);
INSERT INTO transcriber_retention_checkpoint (singleton, position) VALUES (true, 0)
    ON CONFLICT DO NOTHING;
