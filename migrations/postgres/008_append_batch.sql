-- @es/store-postgres, migration 008: the batch append function (write coalescing). Needs 007 (tags).
--
-- Idempotent: safe to run again. Settings and psql command as in 001:
--   PGOPTIONS='-c es.schema=billing -c es.table=events' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 008_append_batch.sql
--
-- Why: with the store's `coalesce` option, concurrent appends of one process are sent together, in
-- one round trip and one transaction (one commit, one WAL flush, for many appends). Each append of
-- the batch is still checked on its own, exactly as the append function (001/004/005) checks one:
-- a conflict or a recognised retry answers that append only, and the others are written.
--
-- <table>_append_batch(p_streams, p_expected, p_check_ids, p_counts, p_previous, p_events)
--   p_streams[i], p_expected[i], p_check_ids[i]: append i's stream, expected version (>= 0 exact,
--     -1 any, -2 the stream must exist) and whether the caller chose some of its event ids.
--   p_counts[i]: how many events append i holds; its events are the next p_counts[i] elements of
--     p_events (a JSON array of {"id", "type", "sv", "data", "meta", "tags"?} objects, all appends
--     in order).
--   p_previous[i]: the index of the previous append of the batch to the same stream, 0 if none (the
--     caller computes it; appends to one stream are applied in batch order).
-- Returns, per append i, one row: ('appended', i, new stream version, ..., position of its last
-- event), ('conflict', i, actual version), or one ('found', i, ...) row per event id of the append
-- already stored by a caller (nothing of append i is written; the caller decides whether it is a
-- retry, as for the single append function).
-- Locks: the era first (as every append), then the locks of migration 007 for the whole batch
-- (EXCLUSIVE on every stream, SHARED on every tag and type written), in key order, so two batches,
-- or a batch and a single append, never wait on each other in a cycle.
-- Positions: era offset + (transaction id << 16) + index of the event in the whole batch, so a
-- batch holds at most 65,536 events (checked here; the store caps batches below that).
-- Any error (a unique index fired because a writer without the lock got there first, an input the
-- server refuses) rolls the whole batch back; the store then runs its appends one by one.
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
  t text := coalesce(nullif(current_setting('es.table', true), ''), 'events');
  lock_seed bigint := hashtext(s || '.' || t);
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR t !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema and es.table must be plain identifiers, got "%" and "%"', s, t;
  END IF;

  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I(
      p_streams text[], p_expected bigint[], p_check_ids boolean[], p_counts integer[],
      p_previous integer[], p_events jsonb)
    RETURNS TABLE (o_kind text, o_append integer, o_stream_version integer, o_event_id uuid,
                   o_version integer, o_position bigint, o_stream_id text)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_n integer := coalesce(array_length(p_streams, 1), 0);
      v_total integer := jsonb_array_length(p_events);
      v_offset bigint;
      v_base bigint;
      v_writer_keys bigint[];
      v_exclusive_keys bigint[] := '{}';
      v_stored integer[];
      v_found integer[] := '{}';
      v_after integer[] := array_fill(NULL::integer, ARRAY[v_n]);
      v_starts integer[] := array_fill(0, ARRAY[v_n]);
      v_from integer[] := array_fill(NULL::integer, ARRAY[v_n]);
      v_start integer := 0;
      v_current integer;
      v_expected bigint;
    BEGIN
      IF v_n < 1 OR v_total IS NULL OR v_total < 1 OR v_total > 65536
         OR array_length(p_expected, 1) IS DISTINCT FROM v_n OR array_length(p_check_ids, 1) IS DISTINCT FROM v_n
         OR array_length(p_counts, 1) IS DISTINCT FROM v_n OR array_length(p_previous, 1) IS DISTINCT FROM v_n
         OR (SELECT sum(c) FROM unnest(p_counts) c) IS DISTINCT FROM v_total::bigint THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
          MESSAGE = 'a batch holds 1 to 65536 events and one stream, expected version, id flag, count and previous index per append';
      END IF;
      -- Before the stream locks: opening an era takes a lock of its own, never while holding one.
      v_offset := %3$I.%4$I();
      -- The locks of migration 007's <table>_lock for the whole batch: EXCLUSIVE on each stream,
      -- SHARED on each tag and type written (past 64 of them, EXCLUSIVE on the coarse writer key
      -- instead) and on the coarse condition key; deduplicated, EXCLUSIVE winning, in key order.
      v_writer_keys := ARRAY(
        SELECT hashtextextended(x, %5$s)
        FROM (SELECT DISTINCT jsonb_array_elements_text(e -> 'tags') FROM jsonb_array_elements(p_events) e
              WHERE e ? 'tags') d(x)
        UNION SELECT hashtextextended(x, %5$s + 1)
        FROM (SELECT DISTINCT e ->> 'type' FROM jsonb_array_elements(p_events) e) d(x));
      IF cardinality(v_writer_keys) > 64 THEN
        v_exclusive_keys := ARRAY[hashtextextended('many writer keys', %5$s + 2)];
        v_writer_keys := '{}';
      END IF;
      v_writer_keys := v_writer_keys || hashtextextended('many condition keys', %5$s + 2);
      -- One statement: the locks are taken row by row in the order of the sorted sub-query.
      PERFORM CASE WHEN l.exclusive THEN pg_advisory_xact_lock(l.k) ELSE pg_advisory_xact_lock_shared(l.k) END
      FROM (SELECT k, bool_or(x.exclusive) AS exclusive
            FROM (SELECT hashtextextended(s, %5$s), true FROM unnest(p_streams) s
                  UNION ALL SELECT unnest(v_exclusive_keys), true
                  UNION ALL SELECT unnest(v_writer_keys), false) x(k, exclusive)
            GROUP BY k ORDER BY k) l;
      -- After the locks, a new statement: it sees every commit of a writer it waited for.
      SELECT array_agg((SELECT coalesce(max(e.version), 0) FROM %3$I.%6$I e WHERE e.stream_id = u.s)
                       ORDER BY u.i)
        INTO v_stored FROM unnest(p_streams) WITH ORDINALITY u(s, i);
      FOR i IN 1 .. v_n LOOP
        v_starts[i] := v_start;
        v_start := v_start + p_counts[i];
      END LOOP;
      IF true = ANY(p_check_ids) THEN
        SELECT coalesce(array_agg(DISTINCT u.i), '{}') INTO v_found
        FROM unnest(p_check_ids, v_starts, p_counts) WITH ORDINALITY u(c, st, n, i),
             generate_series(1, u.n) g(k), %3$I.%6$I e
        WHERE u.c AND e.event_id_supplied AND e.event_id = (p_events -> (u.st + g.k - 1) ->> 'id')::uuid;
      END IF;

      FOR i IN 1 .. v_n LOOP
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

      v_base := v_offset + ((pg_current_xact_id()::text::bigint) << 16);
      INSERT INTO %3$I.%6$I
        (position, stream_id, version, event_id, event_id_supplied, type, schema_version, data, metadata,
         created_at, tags)
      SELECT v_base + u.st + g.k - 1, u.s, u.f + g.k, (ev.e ->> 'id')::uuid, u.c, ev.e ->> 'type',
             (ev.e ->> 'sv')::integer, ev.e -> 'data', ev.e -> 'meta', now(),
             CASE WHEN ev.e ? 'tags' THEN ARRAY(SELECT jsonb_array_elements_text(ev.e -> 'tags')) ELSE '{}' END
      FROM unnest(p_streams, v_from, v_starts, p_counts, p_check_ids) u(s, f, st, n, c),
           generate_series(1, u.n) g(k),
           LATERAL (SELECT p_events -> (u.st + g.k - 1) AS e) ev
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
          WHERE u.i = ANY(v_found) AND e.event_id_supplied
            AND e.event_id = (p_events -> (u.st + g.k - 1) ->> 'id')::uuid;
      END IF;
    END
    $fn$$ddl$,
    s, t || '_append_batch', s, t || '_era_offset', lock_seed, t);
END
$migration$;
