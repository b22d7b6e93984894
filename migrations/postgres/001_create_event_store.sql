-- @es/store-postgres, migration 001: the event table and its append function.
--
-- Idempotent: safe to run again. Needs PostgreSQL 13 or newer (xid8, pg_current_xact_id).
-- Run by hand after 004, it puts back this file's append function: run every file in order, as
-- migrate() does, so that 004 replaces it again.
-- The schema and table names come from two settings, so one file serves any configuration:
--   es.schema  (default: public)   es.table  (default: events)
-- migrate() sets them for you. By hand, with psql:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 001_create_event_store.sql
--   PGOPTIONS='-c es.schema=billing -c es.table=events' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 001_create_event_store.sql
--
-- Global position (see the package README, "The global log"): every event's position is
--   (id of the transaction that wrote it) * 65536 + (its index in the append),
-- so position order is (transaction id, index) order, and readers return only events of
-- transactions older than every transaction still running. A follower resuming after a position
-- therefore never skips an event that commits later with a smaller position.
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
  t text := coalesce(nullif(current_setting('es.table', true), ''), 'events');
  -- Appends to one stream are serialised by an advisory lock keyed by this seed and the stream id.
  lock_seed bigint := hashtext(s || '.' || t);
  -- Followers LISTEN on this channel; the store computes the same name.
  channel text := 'es_' || left(md5(s || '.' || t), 20);
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR t !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema and es.table must be plain identifiers, got "%" and "%"', s, t;
  END IF;

  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);

  EXECUTE format($ddl$
    CREATE TABLE IF NOT EXISTS %1$I.%2$I (
      position       bigint      NOT NULL,
      stream_id      text        NOT NULL,
      version        integer     NOT NULL,
      event_id       uuid        NOT NULL,
      type           text        NOT NULL,
      schema_version integer     NOT NULL,
      data           jsonb       NOT NULL,
      metadata       jsonb       NOT NULL,
      created_at     timestamptz NOT NULL,
      CONSTRAINT %3$I PRIMARY KEY (position),
      CONSTRAINT %4$I UNIQUE (stream_id, version),
      CONSTRAINT %5$I UNIQUE (event_id),
      CONSTRAINT %6$I CHECK (version > 0 AND schema_version > 0)
    )$ddl$,
    s, t, t || '_pkey', t || '_stream_version_key', t || '_event_id_key', t || '_check');

  -- getEventsByType: one index range per type, already in position order.
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I (type, position)', t || '_type_position_idx', s, t);

  -- One round trip per append. Returns one of:
  --   ('appended', new stream version, NULL, NULL, position of the last event, NULL)
  --   ('conflict', actual stream version, NULL, ...)             nothing written
  --   ('found', actual stream version, event_id, version, position, stream_id) per batch event id
  --     already stored (only when p_check_ids): nothing written; the caller decides whether
  --     it is a retry of the same batch (@es/core resolveRetriedAppend) or a conflict.
  -- p_expected: >= 0 the exact version (0 = no stream), -1 any, -2 the stream must exist.
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
          WHERE e.event_id IN (SELECT (x ->> 'id')::uuid FROM jsonb_array_elements(p_events) x);
        IF FOUND THEN RETURN; END IF;
      END IF;

      IF NOT (p_expected = -1 OR (p_expected = -2 AND v_version > 0) OR p_expected = v_version) THEN
        RETURN QUERY SELECT 'conflict'::text, v_version, NULL::uuid, NULL::integer, NULL::bigint, NULL::text;
        RETURN;
      END IF;

      -- The transaction id, shifted: positions of this append are v_base .. v_base + v_count - 1.
      v_base := (pg_current_xact_id()::text::bigint) << 16;
      INSERT INTO %3$I.%4$I
        (position, stream_id, version, event_id, type, schema_version, data, metadata, created_at)
      SELECT v_base + x.n - 1, p_stream_id, v_version + x.n::integer, (x.e ->> 'id')::uuid, x.e ->> 'type',
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
