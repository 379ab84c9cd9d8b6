-- The business profile's versions, the bookings that fit its calendar, and hand-offs.

-- Every version of the profile the analyzer answered with (its YAML text, by content hash).
CREATE TABLE IF NOT EXISTS analyzer_business_profiles (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    source      text NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now()
);

-- When each version became the current one (the file's modification time), so a replayed
-- message is answered with the version of its time. event_id: its business.profile_loaded.
CREATE TABLE IF NOT EXISTS analyzer_business_profile_history (
    seq             bigserial PRIMARY KEY,
    version         text NOT NULL REFERENCES analyzer_business_profiles (version),
    effective_from  timestamptz NOT NULL,
    event_id        uuid NOT NULL UNIQUE,
    published       boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS analyzer_business_profile_history_from
    ON analyzer_business_profile_history (effective_from);

-- One row per booked appointment. The exclusion constraint is the booking: two rows on
-- the same lane (chair) may not overlap in time, so with `parallel` lanes a slot holds
-- at most `parallel` appointments however many contacts race for it. Ranges of lanes
-- (int4range) need no btree_gist, which the embedded server lacks.
CREATE TABLE IF NOT EXISTS analyzer_bookings (
    calendar_event_id  uuid PRIMARY KEY,
    conversation       text NOT NULL,
    lane               integer NOT NULL CHECK (lane >= 0),
    during             tstzrange NOT NULL,
    booked_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analyzer_bookings_no_overlap
        EXCLUDE USING gist (int4range(lane, lane, '[]') WITH &&, during WITH &&)
);

-- A conversation handed to a person: the contact is told once, the task published once.
CREATE TABLE IF NOT EXISTS analyzer_handoffs (
    conversation  text PRIMARY KEY,
    task_id       uuid NOT NULL,
    burst_id      uuid NOT NULL,
    told_at       timestamptz NOT NULL DEFAULT now()
);

-- Follow-up tasks the profile already answered (a quote for a listed price): never published.
CREATE TABLE IF NOT EXISTS analyzer_answered_tasks (
    conversation  text NOT NULL,
    key           text NOT NULL,
    PRIMARY KEY (conversation, key)
);
