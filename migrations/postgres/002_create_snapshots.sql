-- @es/store-postgres, migration 002: the snapshot table of an event table.
--
-- Idempotent: safe to run again. The schema and event table come from the es.schema (default:
-- public) and es.table (default: events) settings, as in 001; the snapshots of <table> live in
-- <schema>.<table>_snapshots, so two event tables of one schema never share snapshots.
-- migrate() sets the settings for you. By hand, with psql:
--   PGOPTIONS='-c es.schema=billing -c es.table=events' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 002_create_snapshots.sql
--
-- One row per stream: the latest snapshot. PostgresSnapshotStore replaces it only with a snapshot
-- of an equal or higher aggregate_version (INSERT ... ON CONFLICT DO UPDATE ... WHERE), so a late
-- save of an older snapshot never wins. state is `json`, not `jsonb`: a snapshot is read whole and
-- never queried inside, and `json` keeps the text as written (object key order included).
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
  t text := coalesce(nullif(current_setting('es.table', true), ''), 'events');
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR t !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema and es.table must be plain identifiers, got "%" and "%"', s, t;
  END IF;

  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);

  EXECUTE format($ddl$
    CREATE TABLE IF NOT EXISTS %1$I.%2$I (
      stream_id         text        NOT NULL,
      aggregate_version integer     NOT NULL,
      snapshot_version  integer     NOT NULL,
      state             json        NOT NULL,
      created_at        timestamptz NOT NULL,
      saved_at          timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT %3$I PRIMARY KEY (stream_id),
      CONSTRAINT %4$I CHECK (aggregate_version > 0 AND snapshot_version > 0)
    )$ddl$,
    s, t || '_snapshots', t || '_snapshots_pkey', t || '_snapshots_check');
END
$migration$;
