-- @es/store-postgres, migration 009: the coalesced append function, with a lock-free fast path and
-- typed array parameters. Needs 005 (eras) and 007 (tags, locks). It supersedes 008's
-- <table>_append_batch, which stays for clients built before it.
--
-- Idempotent: safe to run again. Settings and psql command as in 001:
--   PGOPTIONS='-c es.schema=billing -c es.table=events' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 009_append_coalesced.sql
--
-- Why: 008's batch function took an EXCLUSIVE stream lock and read the stream's version for every
-- append, and made the server parse one JSON document and index into it per event field. Most
-- coalesced appends are single events at an exact expected version (a command on one aggregate):
-- those can be written as the single append writes them (one lock-free INSERT whose unique
-- (stream_id, version) index decides races), all in one multi-row INSERT. The columns come as typed
-- arrays, so the server reads each value once.
--
-- <table>_append_coalesced(p_streams, p_expected, p_check_ids, p_counts, p_previous,
--                          p_ids, p_types, p_schema_versions, p_data, p_metadata, p_tag_counts, p_tags)
--   Per append i (1 .. n): p_streams[i], p_expected[i] (>= 0 exact, -1 any, -2 the stream must
--     exist), p_check_ids[i] (the caller chose some of its event ids), p_counts[i] (its events are
--     the next p_counts[i] elements of the event arrays, all appends in order), p_previous[i] (the
--     index of the previous append of the batch to the same stream, 0 if none).
--   Per event j: p_ids[j], p_types[j], p_schema_versions[j], p_data[j], p_metadata[j], and
--     p_tag_counts[j]: its tags are the next p_tag_counts[j] elements of p_tags.
-- The fast path: an append of one event at an exact expected version, without caller-chosen ids,
--   whose stream no other append of the batch writes. Those appends are inserted in one statement,
--   in stream id order (two batches then meet on the unique index in one order), with the probe
--   "version p_expected[i] exists (or is 0)" and ON CONFLICT DO NOTHING: a single event is written
--   whole or not at all. (A batch of such appends only, the store sends as one INSERT of its own,
--   with the same locks, probe and ON CONFLICT, without calling this function.) An append that was not written is reported as 'unwritten'; the store then
--   runs it through the single-append path after the commit, which reports the exact conflict (or
--   writes it, if the stream has since reached the expected version through a writer it waited for).
-- The locked path (every other append): as 008, per append in batch order, the retry check of
--   caller-chosen ids, the expected version against the stream's version, the insert.
-- Returns, per append i, one row: ('appended', i, new stream version, ..., position of its last
-- event), ('conflict', i, actual version), ('unwritten', i) for a fast-path append the index or
-- the probe refused, or one ('found', i, ...) row per event id of append i already stored.
-- Locks: the era first (as every append), then <table>_lock_batch (below), in key order:
-- EXCLUSIVE on the stream of every locked-path append; SHARED on the stream of every fast-path append (the single
-- INSERT's lock: a stream id counts as a tag for conditional appends); SHARED on every tag and type
-- written (past 64 of them, EXCLUSIVE on the coarse writer key instead) and on the coarse condition
-- key. So a conditional append (007) sees every event of the batch or waits for its commit, and a
-- fast-path append never races a locked append of its stream.
-- Positions: era offset + (transaction id << 16) + index of the event in the whole batch.
-- An error of the locked path (a unique index fired because a writer without the stream lock got
-- there first, an input the server refuses) rolls the whole batch back; the store then runs its
-- appends one by one.
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
  t text := coalesce(nullif(current_setting('es.table', true), ''), 'events');
  lock_seed bigint := hashtext(s || '.' || t);
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR t !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema and es.table must be plain identifiers, got "%" and "%"', s, t;
  END IF;

  -- <table>_lock_batch(p_exclusive_streams, p_shared_streams, p_tags, p_types): the advisory locks
  -- of migration 007's <table>_lock for the writers of a whole batch, in one sorted pass: EXCLUSIVE
  -- on each stream of p_exclusive_streams, SHARED on each of p_shared_streams, SHARED on each tag
  -- and type written (past 64 of them, EXCLUSIVE on the coarse writer key instead) and on the
  -- coarse condition key; deduplicated, EXCLUSIVE winning, in key order, so that no two writers
  -- (or a writer and a conditional append) wait on each other in a cycle.
  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I(
      p_exclusive_streams text[], p_shared_streams text[], p_tags text[], p_types text[])
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_writer_keys bigint[];
      v_exclusive_keys bigint[] := '{}';
    BEGIN
      v_writer_keys := ARRAY(
        SELECT hashtextextended(x, %3$s) FROM (SELECT DISTINCT unnest(p_tags)) d(x)
        UNION SELECT hashtextextended(x, %3$s + 1) FROM (SELECT DISTINCT unnest(p_types)) d(x));
      IF cardinality(v_writer_keys) > 64 THEN
        v_exclusive_keys := ARRAY[hashtextextended('many writer keys', %3$s + 2)];
        v_writer_keys := '{}';
      END IF;
      v_writer_keys := v_writer_keys || hashtextextended('many condition keys', %3$s + 2);
      -- One statement: the locks are taken row by row in the order of the sorted sub-query.
      PERFORM CASE WHEN l.exclusive THEN pg_advisory_xact_lock(l.k) ELSE pg_advisory_xact_lock_shared(l.k) END
      FROM (SELECT k, bool_or(x.exclusive) AS exclusive
            FROM (SELECT hashtextextended(s, %3$s), true FROM unnest(p_exclusive_streams) s
                  UNION ALL SELECT hashtextextended(s, %3$s), false FROM unnest(p_shared_streams) s
                  UNION ALL SELECT unnest(v_exclusive_keys), true
                  UNION ALL SELECT unnest(v_writer_keys), false) x(k, exclusive)
            GROUP BY k ORDER BY k) l;
      RETURN true;
    END
    $fn$$ddl$,
    s, t || '_lock_batch', lock_seed);

  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I(
      p_streams text[], p_expected bigint[], p_check_ids boolean[], p_counts integer[],
      p_previous integer[], p_ids uuid[], p_types text[], p_schema_versions integer[], p_data jsonb[],
      p_metadata jsonb[], p_tag_counts integer[], p_tags text[])
    RETURNS TABLE (o_kind text, o_append integer, o_stream_version integer, o_event_id uuid,
                   o_version integer, o_position bigint, o_stream_id text)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_n integer := coalesce(array_length(p_streams, 1), 0);
      v_total integer := coalesce(array_length(p_ids, 1), 0);
      v_offset bigint;
      v_base bigint;
      v_starts integer[];
      v_fast boolean[];
      v_tag_starts integer[];
      v_stored integer[];
      v_found integer[] := '{}';
      v_after integer[];
      v_from integer[];
      v_current integer;
      v_expected bigint;
    BEGIN
      IF v_n < 1 OR v_total < 1 OR v_total > 65536
         OR array_length(p_expected, 1) IS DISTINCT FROM v_n OR array_length(p_check_ids, 1) IS DISTINCT FROM v_n
         OR array_length(p_counts, 1) IS DISTINCT FROM v_n OR array_length(p_previous, 1) IS DISTINCT FROM v_n
         OR array_length(p_types, 1) IS DISTINCT FROM v_total
         OR array_length(p_schema_versions, 1) IS DISTINCT FROM v_total
         OR array_length(p_data, 1) IS DISTINCT FROM v_total OR array_length(p_metadata, 1) IS DISTINCT FROM v_total
         OR array_length(p_tag_counts, 1) IS DISTINCT FROM v_total
         OR (SELECT sum(c) FROM unnest(p_counts) c) IS DISTINCT FROM v_total::bigint
         OR (SELECT coalesce(sum(c), 0) FROM unnest(p_tag_counts) c) IS DISTINCT FROM coalesce(cardinality(p_tags), 0)::bigint
         OR EXISTS (SELECT 1 FROM unnest(p_counts, p_previous) WITH ORDINALITY u(c, p, i)
                    WHERE c IS NULL OR c < 1 OR p IS NULL OR p < 0 OR p >= i
                       OR (p > 0 AND p_streams[p] IS DISTINCT FROM p_streams[i])) THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
          MESSAGE = 'a batch holds 1 to 65536 events, one stream, expected version, id flag, count (>= 1) and earlier same-stream index per append, and one id, type, schema version, data, metadata and tag count per event';
      END IF;
      -- Before the stream locks: opening an era takes a lock of its own, never while holding one.
      v_offset := %3$I.%4$I();
      -- Where each append's events start, and which appends take the fast path.
      SELECT array_agg(u.st ORDER BY u.i), array_agg(u.fast ORDER BY u.i) INTO v_starts, v_fast
      FROM (SELECT i, (sum(c) OVER (ORDER BY i) - c)::integer AS st,
                   (c = 1 AND x BETWEEN 0 AND 2147483646 AND NOT k AND p = 0 AND NOT (i::integer = ANY(p_previous)))
                     AS fast
            FROM unnest(p_counts, p_expected, p_check_ids, p_previous) WITH ORDINALITY u(c, x, k, p, i)) u;
      IF cardinality(p_tags) > 0 THEN
        SELECT array_agg(u.st ORDER BY u.j) INTO v_tag_starts
        FROM (SELECT j, (sum(c) OVER (ORDER BY j) - c)::integer AS st
              FROM unnest(p_tag_counts) WITH ORDINALITY u(c, j)) u;
      END IF;
      -- The locks (see the header).
      PERFORM %1$I.%7$I(
        ARRAY(SELECT u.s FROM unnest(p_streams, v_fast) u(s, f) WHERE NOT u.f),
        ARRAY(SELECT u.s FROM unnest(p_streams, v_fast) u(s, f) WHERE u.f), p_tags, p_types);
      v_base := v_offset + ((pg_current_xact_id()::text::bigint) << 16);

      IF false = ANY(v_fast) THEN
        -- The locked path, as 008. After the locks, a new statement: it sees every commit of a
        -- writer it waited for.
        v_after := array_fill(NULL::integer, ARRAY[v_n]);
        v_from := array_fill(NULL::integer, ARRAY[v_n]);
        SELECT array_agg(CASE WHEN u.f THEN NULL
                              ELSE (SELECT coalesce(max(e.version), 0) FROM %3$I.%6$I e WHERE e.stream_id = u.s) END
                         ORDER BY u.i)
          INTO v_stored FROM unnest(p_streams, v_fast) WITH ORDINALITY u(s, f, i);
        IF true = ANY(p_check_ids) THEN
          SELECT coalesce(array_agg(DISTINCT u.i), '{}') INTO v_found
          FROM unnest(p_check_ids, v_starts, p_counts) WITH ORDINALITY u(c, st, n, i),
               generate_series(1, u.n) g(k), %3$I.%6$I e
          WHERE u.c AND e.event_id_supplied AND e.event_id = p_ids[u.st + g.k];
        END IF;
        FOR i IN 1 .. v_n LOOP
          CONTINUE WHEN v_fast[i];
          v_current := CASE WHEN p_previous[i] > 0 THEN v_after[p_previous[i]] ELSE v_stored[i] END;
          v_after[i] := v_current;
          v_expected := p_expected[i];
          IF i = ANY(v_found) THEN
            -- reported below with the stored events
            v_stored[i] := v_current;
          ELSIF NOT (v_expected = -1 OR (v_expected = -2 AND v_current > 0) OR v_expected = v_current) THEN
            v_stored[i] := v_current;
            o_kind := 'conflict'; o_append := i; o_stream_version := v_current;
            o_event_id := NULL; o_version := NULL; o_position := NULL; o_stream_id := NULL;
            RETURN NEXT;
          ELSE
            v_from[i] := v_current;
            v_after[i] := v_current + p_counts[i];
          END IF;
        END LOOP;
        INSERT INTO %3$I.%6$I
          (position, stream_id, version, event_id, event_id_supplied, type, schema_version, data, metadata,
           created_at, tags)
        SELECT v_base + u.st + g.k - 1, u.s, u.f + g.k, p_ids[u.st + g.k], u.c, p_types[u.st + g.k],
               p_schema_versions[u.st + g.k], p_data[u.st + g.k], p_metadata[u.st + g.k], now(),
               CASE WHEN v_tag_starts IS NULL OR p_tag_counts[u.st + g.k] = 0 THEN '{}'::text[]
                    ELSE p_tags[v_tag_starts[u.st + g.k] + 1 : v_tag_starts[u.st + g.k] + p_tag_counts[u.st + g.k]] END
        FROM unnest(p_streams, v_from, v_starts, p_counts, p_check_ids) u(s, f, st, n, c),
             generate_series(1, u.n) g(k)
        WHERE u.f IS NOT NULL;
        RETURN QUERY
          SELECT 'appended'::text, u.i::integer, u.a, NULL::uuid, NULL::integer, v_base + u.st + u.n - 1,
                 NULL::text
          FROM unnest(v_from, v_after, v_starts, p_counts) WITH ORDINALITY u(f, a, st, n, i)
          WHERE u.f IS NOT NULL;
        IF cardinality(v_found) > 0 THEN
          RETURN QUERY
            SELECT 'found'::text, u.i::integer, v_stored[u.i], e.event_id, e.version, e.position, e.stream_id
            FROM unnest(p_check_ids, v_starts, p_counts) WITH ORDINALITY u(c, st, n, i),
                 generate_series(1, u.n) g(k), %3$I.%6$I e
            WHERE u.i = ANY(v_found) AND e.event_id_supplied AND e.event_id = p_ids[u.st + g.k];
        END IF;
      END IF;

      IF true = ANY(v_fast) THEN
        -- The fast path: one INSERT, the unique index deciding races as for the single append. The
        -- LATERAL probe with LIMIT is one index probe per row (an EXISTS under OR may be planned as
        -- a hashed sub-plan over the whole table).
        RETURN QUERY
          WITH written AS (
            INSERT INTO %3$I.%6$I
              (position, stream_id, version, event_id, event_id_supplied, type, schema_version, data,
               metadata, created_at, tags)
            SELECT v_base + u.st, u.s, u.x::integer + 1, p_ids[u.st + 1], false, p_types[u.st + 1],
                   p_schema_versions[u.st + 1], p_data[u.st + 1], p_metadata[u.st + 1], now(),
                   CASE WHEN v_tag_starts IS NULL OR p_tag_counts[u.st + 1] = 0 THEN '{}'::text[]
                        ELSE p_tags[v_tag_starts[u.st + 1] + 1 : v_tag_starts[u.st + 1] + p_tag_counts[u.st + 1]] END
            FROM unnest(p_streams, p_expected, v_starts, v_fast) u(s, x, st, f)
            LEFT JOIN LATERAL (SELECT 1 AS hit FROM %3$I.%6$I e
                               WHERE e.stream_id = u.s AND e.version = u.x::integer LIMIT 1) probe ON true
            WHERE u.f AND (u.x = 0 OR probe.hit IS NOT NULL)
            ORDER BY u.s
            ON CONFLICT DO NOTHING
            RETURNING position, version)
          SELECT CASE WHEN w.position IS NULL THEN 'unwritten' ELSE 'appended' END::text, u.i::integer,
                 w.version, NULL::uuid, NULL::integer, w.position, NULL::text
          FROM unnest(v_starts, v_fast) WITH ORDINALITY u(st, f, i)
          LEFT JOIN written w ON w.position = v_base + u.st
          WHERE u.f;
      END IF;
    END
    $fn$$ddl$,
    s, t || '_append_coalesced', s, t || '_era_offset', lock_seed, t, t || '_lock_batch');
END
$migration$;
