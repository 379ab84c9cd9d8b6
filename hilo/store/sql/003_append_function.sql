-- One append, one round trip: lock the head, find duplicates and stream versions, check the
-- expected versions, write events, streams and head, notify. Called as a single statement,
-- it is its own transaction; inside a caller's transaction it joins it.
--
-- In READ COMMITTED every statement of a VOLATILE plpgsql function takes a fresh snapshot,
-- so the statements after the head lock see every append that committed before it.
CREATE OR REPLACE FUNCTION hilo_append(
    ids               uuid[],
    streams           text[],
    types             text[],
    schema_versions   int[],
    occurred          timestamptz[],
    correlations      uuid[],
    causations        uuid[],
    payloads          jsonb[],
    expected_streams  text[],
    expected_versions int[],
    channel           text,
    OUT positions         bigint[],
    OUT conflict_stream   text,
    OUT conflict_expected int,
    OUT conflict_actual   int
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head bigint;
    last bigint;
BEGIN
    SELECT h.position INTO head FROM event_store_head h FOR UPDATE;

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

    WITH input AS (
        SELECT *
        FROM unnest(ids, streams, types, schema_versions, occurred, correlations, causations,
                    payloads) WITH ORDINALITY
             AS i(event_id, stream, type, schema_version, occurred_at, correlation_id,
                  causation_id, data, ord)
    ), flagged AS (
        -- Fresh: not stored yet, and the first of its id within this batch.
        SELECT input.*,
               NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = input.event_id)
                   AND row_number() OVER (PARTITION BY input.event_id ORDER BY input.ord) = 1
                   AS fresh
        FROM input
    ), numbered AS (
        SELECT f.*,
               head + row_number() OVER (ORDER BY f.ord) AS position,
               (COALESCE(s.version, 0)
                   + row_number() OVER (PARTITION BY f.stream ORDER BY f.ord))::int
                   AS stream_version
        FROM flagged f
        LEFT JOIN event_streams s ON s.stream = f.stream
        WHERE f.fresh
    ), written AS (
        INSERT INTO events (position, event_id, stream, stream_version, type, schema_version,
                            occurred_at, correlation_id, causation_id, data)
        SELECT n.position, n.event_id, n.stream, n.stream_version, n.type, n.schema_version,
               n.occurred_at, n.correlation_id, n.causation_id, n.data
        FROM numbered n
    ), versioned AS (
        INSERT INTO event_streams (stream, version)
        SELECT n.stream, max(n.stream_version) FROM numbered n GROUP BY n.stream
        ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version
    )
    SELECT array_agg(n.position ORDER BY f.ord), max(n.position)
    INTO positions, last
    FROM flagged f
    LEFT JOIN numbered n ON n.ord = f.ord;

    IF last IS NOT NULL THEN
        UPDATE event_store_head SET position = last;
        PERFORM pg_notify(channel, last::text);
    END IF;
END
$$;
