-- hilo_append, leaner (replaces 003's version; same guarantees, same single round trip):
--
-- * payloads arrive as text[] and are parsed into jsonb only for the events written (the
--   client encodes text[] in C; jsonb[] went through a Python codec per element);
-- * the expected-version check runs only when the caller expects versions;
-- * one INSERT … SELECT numbers and writes the fresh events, without the materialised
--   "numbered" step and the final join back to the input; the caller learns which inputs
--   were written (their ordinals) and the first position, the rest being consecutive.
--
-- Positions are still handed out under the row lock of event_store_head, so they commit in
-- order and without gaps; an event whose id is stored already, or repeated earlier in the
-- same call, is not written and is reported as a duplicate by the caller.
--
-- In READ COMMITTED every statement of a VOLATILE plpgsql function takes a fresh snapshot,
-- so the statements after the head lock see every append that committed before it.
DROP FUNCTION IF EXISTS hilo_append(uuid[], text[], text[], int[], timestamptz[], uuid[],
                                    uuid[], jsonb[], text[], int[], text);

CREATE OR REPLACE FUNCTION hilo_append(
    ids               uuid[],
    streams           text[],
    types             text[],
    schema_versions   int[],
    occurred          timestamptz[],
    correlations      uuid[],
    causations        uuid[],
    payloads          text[],
    expected_streams  text[],
    expected_versions int[],
    channel           text,
    OUT first_position    bigint,
    OUT written           int[],
    OUT conflict_stream   text,
    OUT conflict_expected int,
    OUT conflict_actual   int
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head bigint;
    last bigint;
BEGIN
    SELECT h.position INTO head FROM event_store_head h FOR UPDATE;

    IF cardinality(expected_streams) > 0 THEN
        -- A stream conflicts only if this call would write to it: re-appending stored events
        -- with stale expectations reports duplicates, not a conflict.
        SELECT x.stream, x.expected, COALESCE(s.version, 0)
        INTO conflict_stream, conflict_expected, conflict_actual
        FROM unnest(expected_streams, expected_versions) AS x(stream, expected)
        LEFT JOIN event_streams s ON s.stream = x.stream
        WHERE COALESCE(s.version, 0) <> x.expected
          AND EXISTS (
              SELECT 1 FROM unnest(ids, streams) AS i(event_id, stream)
              WHERE i.stream = x.stream
                AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = i.event_id))
        ORDER BY x.stream
        LIMIT 1;
        IF conflict_stream IS NOT NULL THEN
            RETURN;
        END IF;
    END IF;

    WITH fresh AS (
        -- Not stored yet, and the first of its id within this call.
        SELECT i.*
        FROM (SELECT i.*, row_number() OVER (PARTITION BY i.event_id ORDER BY i.ord) AS nth
              FROM unnest(ids, streams, types, schema_versions, occurred, correlations,
                          causations, payloads) WITH ORDINALITY
                   AS i(event_id, stream, type, schema_version, occurred_at, correlation_id,
                        causation_id, data, ord)) i
        WHERE i.nth = 1
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = i.event_id)
    ), stored AS (
        INSERT INTO events (position, event_id, stream, stream_version, type, schema_version,
                            occurred_at, correlation_id, causation_id, data)
        SELECT head + row_number() OVER (ORDER BY f.ord), f.event_id, f.stream,
               (COALESCE(s.version, 0)
                   + row_number() OVER (PARTITION BY f.stream ORDER BY f.ord))::int,
               f.type, f.schema_version, f.occurred_at, f.correlation_id, f.causation_id,
               f.data::jsonb
        FROM fresh f
        LEFT JOIN event_streams s ON s.stream = f.stream
        RETURNING stream, stream_version
    ), versioned AS (
        INSERT INTO event_streams (stream, version)
        SELECT st.stream, max(st.stream_version) FROM stored st GROUP BY st.stream
        ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version
    )
    SELECT array_agg(f.ord::int ORDER BY f.ord) INTO written FROM fresh f;

    IF written IS NOT NULL THEN
        first_position := head + 1;
        last := head + cardinality(written);
        UPDATE event_store_head SET position = last;
        PERFORM pg_notify(channel, last::text);
    END IF;
END
$$;
