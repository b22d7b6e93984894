-- @es/store-postgres, migration 006: consumer groups: members and partition leases with fencing
-- tokens (PostgresPartitionLeaseStore), and the single-instance lease of PostgresProjectionLock.
--
-- Idempotent: safe to run again (it runs once per event table of a schema, and the tables are
-- shared by the schema). The schema comes from the es.schema setting (default: public), as in 001.
-- By hand, with psql:
--   PGOPTIONS='-c es.schema=billing' \
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f 006_consumer_group_leases.sql
--
-- Every lease is a row timed by the server's clock, not a session's lock, so it works through
-- connection poolers in transaction mode.
-- es_consumer_groups: one row per group, fixing its partition count.
-- es_consumer_members: each worker's membership, alive until expires_at unless renewed.
-- es_partition_leases: one row per (group, partition): its owner (NULL once released or reset)
-- and its fencing token, which only grows. The row outlives a release and a reset of its group, so
-- a token is never handed out twice. PostgresProjectionStore checks a batch's fence against this
-- table in the batch's transaction.
DO $migration$
DECLARE
  s text := coalesce(nullif(current_setting('es.schema', true), ''), 'public');
BEGIN
  IF s !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'es.schema must be a plain identifier, got "%"', s;
  END IF;

  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);

  EXECUTE format($ddl$
    CREATE TABLE IF NOT EXISTS %1$I.es_consumer_groups (
      group_name text    NOT NULL,
      partitions integer NOT NULL,
      CONSTRAINT es_consumer_groups_pkey PRIMARY KEY (group_name),
      CONSTRAINT es_consumer_groups_partitions_check CHECK (partitions > 0)
    )$ddl$, s);

  EXECUTE format($ddl$
    CREATE TABLE IF NOT EXISTS %1$I.es_consumer_members (
      group_name text        NOT NULL,
      worker_id  text        NOT NULL,
      expires_at timestamptz NOT NULL,
      CONSTRAINT es_consumer_members_pkey PRIMARY KEY (group_name, worker_id)
    )$ddl$, s);

  EXECUTE format($ddl$
    CREATE TABLE IF NOT EXISTS %1$I.es_partition_leases (
      group_name text        NOT NULL,
      partition  integer     NOT NULL,
      owner      text,
      token      bigint      NOT NULL,
      expires_at timestamptz NOT NULL,
      CONSTRAINT es_partition_leases_pkey PRIMARY KEY (group_name, partition),
      CONSTRAINT es_partition_leases_partition_check CHECK (partition >= 0),
      CONSTRAINT es_partition_leases_token_check CHECK (token > 0),
      -- Makes token a key column for row locks: a takeover (which sets token) takes the row's
      -- exclusive lock and so waits for a fenced batch's FOR KEY SHARE, while a renewal (which
      -- sets only expires_at) does not. The primary key alone already keeps rows unique.
      CONSTRAINT es_partition_leases_token_key UNIQUE (group_name, partition, token)
    )$ddl$, s);
END
$migration$;
