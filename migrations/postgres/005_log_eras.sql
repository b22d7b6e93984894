-- @es/store-postgres, migration 005: the global log survives moving the database to another cluster.
--
-- Idempotent: safe to run again. Settings and psql command as in 001:
--   PGOPTIONS='-c es.schema=billing -c es.table=events' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 005_log_eras.sql
--
-- Why: a position was (transaction id) * 65536 + index. Transaction ids belong to a cluster: after
-- pg_dump into a fresh cluster, or when a logical replica is promoted, they start again far below
-- the restored events, so new events would sort before old ones and readers would hide the old ones.
--
-- The mechanism (docs/global-log.md in the repository explains it at length):
-- * An era is a span of the log written by one cluster, identified by its system identifier
--   (pg_control_system(), unique per initdb). The table <table>_eras lists them; the newest row is
--   the current era.
-- * position = era offset + (transaction id) * 65536 + index. Within one era the offset is constant,
--   so everything that made the log gap-free for followers still holds.
-- * An append checks that the current era belongs to the cluster it runs on. When it does not (the
--   database was moved), the append function opens a new era first, under a lock: its offset puts
--   every position it can produce above every stored event. No manual step.
-- * Readers return events below (offset + oldest running transaction id * 65536) when the current
--   era is this cluster's, and every stored event when it is not yet (no append has happened on this
--   cluster since the move, so every stored event is committed and final).
-- The cluster's system identifier is cached per database session in the setting es.system_id
-- (reading pg_control_system() costs a file read); a session never changes clusters, so the cache is
-- safe behind connection poolers too.
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
  t text := coalesce(nullif(current_setting('es.table', true), ''), 'events');
  lock_seed bigint := hashtext(s || '.' || t);
  channel text := 'es_' || left(md5(s || '.' || t), 20);
  v_count bigint;
  v_max bigint;
  v_xmin bigint;
  v_xmax bigint;
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR t !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema and es.table must be plain identifiers, got "%" and "%"', s, t;
  END IF;

  EXECUTE format($ddl$
    CREATE TABLE IF NOT EXISTS %1$I.%2$I (
      era             integer     NOT NULL,
      system_id       text        NOT NULL,
      position_offset bigint      NOT NULL,
      first_position  bigint      NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT %3$I PRIMARY KEY (era)
    )$ddl$, s, t || '_eras', t || '_eras_pkey');

  -- A table that holds events gets its first era now: this cluster's. Offset 0 keeps every stored
  -- position, and every append already in flight, meaning what it meant, as long as no stored event
  -- lies beyond this cluster's transaction counter. One that does was written by another cluster (a
  -- restore before this migration ran): the era then starts above it, counted from the oldest
  -- transaction that may still append. An empty table gets its first era from its first append, so
  -- that a schema made ahead of its data (a logical replica, a data-only restore) does not claim an
  -- era for a cluster that wrote nothing.
  EXECUTE format('SELECT count(*) FROM %I.%I', s, t || '_eras') INTO v_count;
  EXECUTE format('SELECT max(position) FROM %I.%I', s, t) INTO v_max;
  IF v_count = 0 AND v_max IS NOT NULL THEN
    v_xmin := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
    v_xmax := pg_snapshot_xmax(pg_current_snapshot())::text::bigint;
    EXECUTE format('INSERT INTO %I.%I (era, system_id, position_offset, first_position) VALUES (1, $1, $2, 0)',
                   s, t || '_eras')
      USING (SELECT system_identifier::text FROM pg_control_system()),
            CASE WHEN v_max < (v_xmax << 16) THEN 0 ELSE v_max + 1 - (v_xmin << 16) END;
  END IF;

  -- The offset of the current era, opening a new one when the newest era belongs to another cluster.
  -- SECURITY DEFINER: an application role that may only read and append still opens an era after a
  -- move; every name in it is schema-qualified.
  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
      v_system_id text := coalesce(nullif(current_setting('es.system_id', true), ''),
        set_config('es.system_id', (SELECT system_identifier::text FROM pg_control_system()), false));
      v_era integer;
      v_owner text;
      v_offset bigint;
      v_max bigint;
      v_xmin bigint;
    BEGIN
      SELECT e.era, e.system_id, e.position_offset INTO v_era, v_owner, v_offset
      FROM %1$I.%3$I e ORDER BY e.era DESC LIMIT 1;
      IF v_owner = v_system_id THEN RETURN v_offset; END IF;

      -- A new cluster. One opener at a time; the others then find its era.
      PERFORM pg_advisory_xact_lock(hashtextextended('eras', %5$s));
      SELECT e.era, e.system_id, e.position_offset INTO v_era, v_owner, v_offset
      FROM %1$I.%3$I e ORDER BY e.era DESC LIMIT 1;
      IF v_owner = v_system_id THEN RETURN v_offset; END IF;

      -- No append of this cluster can be in flight: none runs without this era. So the largest
      -- stored position is final, and every transaction that may still append has an id at or above
      -- the oldest running one: counting from it puts every new position above every stored event.
      SELECT max(e.position) INTO v_max FROM %1$I.%4$I e;
      v_xmin := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
      v_offset := greatest(0, coalesce(v_max, -1) + 1 - (v_xmin << 16));
      INSERT INTO %1$I.%3$I (era, system_id, position_offset, first_position)
      VALUES (coalesce(v_era, 0) + 1, v_system_id, v_offset, coalesce(v_max, -1) + 1);
      RETURN v_offset;
    END
    $fn$$ddl$,
    s, t || '_era_offset', t || '_eras', t, lock_seed);

  -- The append function of 004, with positions counted from the current era's offset.
  EXECUTE format($ddl$
    CREATE OR REPLACE FUNCTION %1$I.%2$I(
      p_stream_id text, p_expected bigint, p_check_ids boolean, p_events jsonb, p_notify boolean)
    RETURNS TABLE (o_kind text, o_stream_version integer, o_event_id uuid, o_version integer,
                   o_position bigint, o_stream_id text)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_version integer;
      v_count integer := jsonb_array_length(p_events);
      v_offset bigint;
      v_base bigint;
    BEGIN
      IF v_count IS NULL OR v_count < 1 OR v_count > 65536 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'an append holds 1 to 65536 events';
      END IF;
      -- Before the stream lock: opening an era takes a lock of its own, never while holding one.
      v_offset := %7$I.%8$I();
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

      -- Positions of this append are v_base .. v_base + v_count - 1.
      v_base := v_offset + ((pg_current_xact_id()::text::bigint) << 16);
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
    s, t || '_append', s, t, lock_seed, channel, s, t || '_era_offset');
END
$migration$;
