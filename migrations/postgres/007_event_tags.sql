-- @es/store-postgres, migration 007: dynamic consistency boundaries (event tags, conditional appends).
--
-- Idempotent: safe to run again. Settings and psql command as in 001:
--   PGOPTIONS='-c es.schema=billing -c es.table=events' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 007_event_tags.sql
--
-- What it adds (docs/dcb.md in the repository explains the design):
-- * tags text[] on every event ('{}' for events without tags; a constant default, so an existing
--   table is not rewritten), and a GIN index on the events that have tags (partial: untagged events
--   cost appends nothing). Queries select with `tags @> $1 AND tags <> '{}'`, the second clause
--   naming the index's predicate.
-- * <table>_lock(...): the advisory locks of an append, taken in key order so that no two appends
--   wait on each other in a cycle. A writer takes SHARED on each tag and each type it writes (and on
--   its stream, EXCLUSIVE when it goes through the append function); a conditional append takes
--   EXCLUSIVE on one tag of each condition item with tags, and on each type of an item with types
--   only. Every writer of an event matching the condition holds one of these keys until it
--   commits, so the check that follows the locks sees every such writer that committed first, and
--   every later one waits for the conditional append to commit.
-- * <table>_append_if(...): the append function of 005 with tags, those locks and an optional
--   condition; <table>_append (same signature as before) calls it without a condition.
-- Cost on an existing table: the column is added without a rewrite; the index is built over the
-- tagged events only, so it is empty until tags are written.
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
  t text := coalesce(nullif(current_setting('es.table', true), ''), 'events');
  lock_seed bigint := hashtext(s || '.' || t);
  channel text := 'es_' || left(md5(s || '.' || t), 20);
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR t !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema and es.table must be plain identifiers, got "%" and "%"', s, t;
  END IF;

  EXECUTE format($ddl$ALTER TABLE %I.%I ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}'$ddl$, s, t);
  -- fastupdate off: a pending list would be scanned by every query (milliseconds once it fills).
  EXECUTE format($ddl$CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin (tags) WITH (fastupdate = off)
                      WHERE tags <> '{}'$ddl$, t || '_tags_idx', s, t);

  -- The locks of one append. Keys: hashtextextended(text, seed) as the stream lock of 001 (so a
  -- tag and a stream id with the same text share a key: a stream id counts as a tag), types with
  -- another seed. A key wanted in both modes is taken EXCLUSIVE only (never SHARED then EXCLUSIVE:
  -- two upgraders would deadlock). Past 64 writer keys, a writer takes EXCLUSIVE on one coarse key
  -- instead of SHARED on each, and every conditional append takes SHARED on that key; past 64
  -- condition keys, a conditional append takes EXCLUSIVE on another coarse key, and every writer
  -- SHARED: the lock table stays bounded (max_locks_per_transaction).
  --   p_stream_id, p_stream_exclusive: the stream written (EXCLUSIVE serialises its writers).
  --   p_tags, p_types: the distinct tags and types written.
  --   p_condition_tags: one tag per condition item with tags; p_condition_types: the types of
  --   condition items without tags. Both NULL for an append without a condition.
  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I(
      p_stream_id text, p_stream_exclusive boolean, p_tags text[], p_types text[],
      p_condition_tags text[], p_condition_types text[])
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_conditional boolean := p_condition_tags IS NOT NULL OR p_condition_types IS NOT NULL;
      v_writer_keys bigint[];
      v_condition_keys bigint[];
      v_shared bigint[] := '{}';
      v_key record;
    BEGIN
      v_writer_keys := ARRAY(
        SELECT hashtextextended(x, %3$s) FROM unnest(p_tags) x
        UNION SELECT hashtextextended(x, %3$s + 1) FROM unnest(p_types) x);
      v_condition_keys := ARRAY(
        SELECT hashtextextended(x, %3$s) FROM unnest(p_condition_tags) x
        UNION SELECT hashtextextended(x, %3$s + 1) FROM unnest(p_condition_types) x);
      IF cardinality(v_condition_keys) > 64 THEN
        v_condition_keys := ARRAY[hashtextextended('many condition keys', %3$s + 2)];
      ELSE
        v_shared := v_shared || hashtextextended('many condition keys', %3$s + 2);
      END IF;
      IF cardinality(v_writer_keys) > 64 THEN
        v_writer_keys := '{}';
        v_condition_keys := v_condition_keys || hashtextextended('many writer keys', %3$s + 2);
      ELSIF v_conditional THEN
        v_shared := v_shared || hashtextextended('many writer keys', %3$s + 2);
      END IF;
      IF p_stream_exclusive THEN
        v_condition_keys := v_condition_keys || hashtextextended(p_stream_id, %3$s);
      ELSE
        v_shared := v_shared || hashtextextended(p_stream_id, %3$s);
      END IF;
      FOR v_key IN
        SELECT k, bool_or(exclusive) AS exclusive
        FROM (SELECT unnest(v_writer_keys || v_shared), false UNION ALL SELECT unnest(v_condition_keys), true) x(k, exclusive)
        GROUP BY k ORDER BY k
      LOOP
        IF v_key.exclusive THEN
          PERFORM pg_advisory_xact_lock(v_key.k);
        ELSE
          PERFORM pg_advisory_xact_lock_shared(v_key.k);
        END IF;
      END LOOP;
      RETURN true;
    END
    $fn$$ddl$,
    s, t || '_lock', lock_seed);

  -- The append function of 005 with tags, the locks above, and a condition. Returns, as 005, one
  -- row ('appended' | 'conflict'), or one 'found' row per already-stored event id; and
  -- ('condition_failed', stream version, NULL, NULL, first matching position, NULL) when an event
  -- matching p_condition sits after p_after: nothing is written.
  -- p_events: [{"id", "type", "sv", "data", "meta", "tags"?}]; p_condition: NULL, or
  -- [{"types"?: [...], "tags"?: [...]}] (an event matches an item with both of its type and all of
  -- its tags, its stream id counting as a tag).
  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I(
      p_stream_id text, p_expected bigint, p_check_ids boolean, p_events jsonb, p_notify boolean,
      p_condition jsonb, p_after bigint)
    RETURNS TABLE (o_kind text, o_stream_version integer, o_event_id uuid, o_version integer,
                   o_position bigint, o_stream_id text)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_version integer;
      v_count integer := jsonb_array_length(p_events);
      v_offset bigint;
      v_base bigint;
      v_item jsonb;
      v_types text[];
      v_type text;
      v_tags text[];
      v_condition_tags text[];
      v_condition_types text[];
      v_found bigint;
      v_first bigint;
    BEGIN
      IF v_count IS NULL OR v_count < 1 OR v_count > 65536 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'an append holds 1 to 65536 events';
      END IF;
      -- Before the other locks: opening an era takes a lock of its own, never while holding one.
      v_offset := %7$I.%8$I();
      IF p_condition IS NOT NULL THEN
        v_condition_tags := ARRAY(SELECT x -> 'tags' ->> 0 FROM jsonb_array_elements(p_condition) x
                                  WHERE x ? 'tags');
        v_condition_types := ARRAY(SELECT jsonb_array_elements_text(x -> 'types')
                                   FROM jsonb_array_elements(p_condition) x WHERE NOT x ? 'tags');
      END IF;
      PERFORM %1$I.%9$I(
        p_stream_id, true,
        ARRAY(SELECT DISTINCT jsonb_array_elements_text(x -> 'tags') FROM jsonb_array_elements(p_events) x
              WHERE x ? 'tags'),
        ARRAY(SELECT DISTINCT x ->> 'type' FROM jsonb_array_elements(p_events) x),
        v_condition_tags, v_condition_types);
      -- At READ COMMITTED each statement below takes a new snapshot: it sees every commit of a
      -- writer whose lock this transaction waited for.
      SELECT coalesce(max(e.version), 0) INTO v_version FROM %3$I.%4$I e WHERE e.stream_id = p_stream_id;

      -- A retry is recognised before the condition, which the batch's own events would fail.
      IF p_check_ids THEN
        RETURN QUERY
          SELECT 'found'::text, v_version, e.event_id, e.version, e.position, e.stream_id
          FROM %3$I.%4$I e
          WHERE e.event_id_supplied
            AND e.event_id IN (SELECT (x ->> 'id')::uuid FROM jsonb_array_elements(p_events) x);
        IF FOUND THEN RETURN; END IF;
      END IF;

      IF NOT (p_expected = -1 OR (p_expected = -2 AND v_version > 0) OR p_expected = v_version) THEN
        RETURN QUERY SELECT 'conflict'::text, v_version, NULL::uuid, NULL::integer, NULL::bigint, NULL::text;
        RETURN;
      END IF;

      -- The condition, item by item. EXECUTE plans each check with its values (a cached generic
      -- plan cannot know how rare a tag is). No visibility bound: every writer that could add a
      -- match has committed (and is seen) or waits for this transaction.
      IF p_condition IS NOT NULL THEN
        FOR v_item IN SELECT x FROM jsonb_array_elements(p_condition) x LOOP
          v_types := CASE WHEN v_item ? 'types'
                          THEN ARRAY(SELECT jsonb_array_elements_text(v_item -> 'types')) END;
          v_tags := CASE WHEN v_item ? 'tags'
                         THEN ARRAY(SELECT jsonb_array_elements_text(v_item -> 'tags')) END;
          IF v_tags IS NULL THEN
            -- Per type, one probe of the (type, position) index in position order: with
            -- type = ANY(...), min() walks the primary key instead, past every later event.
            FOREACH v_type IN ARRAY v_types LOOP
              EXECUTE format('SELECT e.position FROM %%s e WHERE e.type = $1 AND e.position > $2
                              ORDER BY e.position LIMIT 1', %10$L)
                INTO v_found USING v_type, p_after;
              IF v_found IS NOT NULL AND (v_first IS NULL OR v_found < v_first) THEN v_first := v_found; END IF;
            END LOOP;
            v_found := NULL;
          ELSE
            EXECUTE format('SELECT min(e.position) FROM %%s e
                            WHERE ((e.tags @> $3 AND e.tags <> ''{}'')
                                   OR (e.stream_id = ANY($3) AND e.tags @> array_remove($3, e.stream_id)))
                              AND e.position > $2 %%s',
                           %10$L, CASE WHEN v_types IS NULL THEN '' ELSE 'AND e.type = ANY($1)' END)
              INTO v_found USING v_types, p_after, v_tags;
          END IF;
          IF v_found IS NOT NULL AND (v_first IS NULL OR v_found < v_first) THEN v_first := v_found; END IF;
        END LOOP;
        IF v_first IS NOT NULL THEN
          RETURN QUERY SELECT 'condition_failed'::text, v_version, NULL::uuid, NULL::integer, v_first, NULL::text;
          RETURN;
        END IF;
      END IF;

      -- Positions of this append are v_base .. v_base + v_count - 1.
      v_base := v_offset + ((pg_current_xact_id()::text::bigint) << 16);
      INSERT INTO %3$I.%4$I
        (position, stream_id, version, event_id, event_id_supplied, type, schema_version, data, metadata,
         created_at, tags)
      SELECT v_base + x.n - 1, p_stream_id, v_version + x.n::integer, (x.e ->> 'id')::uuid, p_check_ids,
             x.e ->> 'type',
             (x.e ->> 'sv')::integer, x.e -> 'data', x.e -> 'meta', now(),
             ARRAY(SELECT jsonb_array_elements_text(x.e -> 'tags'))
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, n);

      IF p_notify THEN
        PERFORM pg_notify(%6$L, '');
      END IF;
      RETURN QUERY SELECT 'appended'::text, v_version + v_count, NULL::uuid, NULL::integer,
                          v_base + v_count - 1, NULL::text;
    END
    $fn$$ddl$,
    s, t || '_append_if', s, t, lock_seed, channel, s, t || '_era_offset', t || '_lock',
    format('%I.%I', s, t));

  -- The append function of 005, now with tags and the writer locks: the same, without a condition.
  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I(
      p_stream_id text, p_expected bigint, p_check_ids boolean, p_events jsonb, p_notify boolean)
    RETURNS TABLE (o_kind text, o_stream_version integer, o_event_id uuid, o_version integer,
                   o_position bigint, o_stream_id text)
    LANGUAGE sql VOLATILE AS $fn$
      SELECT * FROM %1$I.%3$I(p_stream_id, p_expected, p_check_ids, p_events, p_notify, NULL, 0)
    $fn$$ddl$,
    s, t || '_append', t || '_append_if');
END
$migration$;
