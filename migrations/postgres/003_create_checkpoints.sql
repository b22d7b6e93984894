-- @es/store-postgres, migration 003: checkpoints and parked events of subscriptions and projections.
--
-- Idempotent: safe to run again (it runs once per event table of a schema, and the tables are
-- shared by the schema). The schema comes from the es.schema setting (default: public), as in 001.
-- By hand, with psql:
--   PGOPTIONS='-c es.schema=billing' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 003_create_checkpoints.sql
--
-- es_checkpoints: the last global position each subscription handled. A projection whose read model
-- lives in this database updates its row in the transaction that writes the read model
-- (exactly-once); other subscriptions save it after each batch (at-least-once).
-- es_parked_events: events a projection's handler kept failing on, with the error, set aside so the
-- projection goes on. One row per (subscription, position): a replayed batch does not park twice.
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema must be a plain identifier, got "%"', s;
  END IF;

  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);

  EXECUTE format($ddl$
    CREATE TABLE IF NOT EXISTS %1$I.es_checkpoints (
      subscription_id text        NOT NULL,
      position        bigint      NOT NULL,
      updated_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT es_checkpoints_pkey PRIMARY KEY (subscription_id),
      CONSTRAINT es_checkpoints_position_check CHECK (position >= 0)
    )$ddl$, s);

  EXECUTE format($ddl$
    CREATE TABLE IF NOT EXISTS %1$I.es_parked_events (
      subscription_id text        NOT NULL,
      position        bigint      NOT NULL,
      event_id        text        NOT NULL,
      stream_id       text        NOT NULL,
      event_type      text        NOT NULL,
      error           text        NOT NULL,
      attempts        integer     NOT NULL,
      parked_at       timestamptz NOT NULL,
      CONSTRAINT es_parked_events_pkey PRIMARY KEY (subscription_id, position)
    )$ddl$, s);
END
$migration$;
