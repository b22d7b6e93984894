-- @es/store-postgres, migration 010: retry requests on parked events. Needs 003.
--
-- Idempotent: safe to run again (it runs once per event table of a schema, and the table is shared
-- by the schema). The schema comes from the es.schema setting (default: public), as in 001:
--   PGOPTIONS='-c es.schema=billing' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 010_parked_retry_requests.sql
--
-- retry_requested_at: set when an operator asks the running workers to handle a parked event again
-- (the web console, `es parked retry --request`). The worker owning the subscription finds it at
-- its next flush (through the partial index, which holds only the marked rows), handles the event
-- with its own handler, and deletes the row; if the handler fails again, it clears the mark, counts
-- the attempt and keeps the new error.
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema must be a plain identifier, got "%"', s;
  END IF;

  EXECUTE format('ALTER TABLE %1$I.es_parked_events ADD COLUMN IF NOT EXISTS retry_requested_at timestamptz', s);
  EXECUTE format($ddl$
    CREATE INDEX IF NOT EXISTS es_parked_events_retry_requested
      ON %1$I.es_parked_events (subscription_id, position)
      WHERE retry_requested_at IS NOT NULL$ddl$, s);
END
$migration$;
