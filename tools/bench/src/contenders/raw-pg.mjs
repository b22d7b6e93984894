// Contender: the raw pg baseline, the least work the same job needs: one table with a unique
// (stream_id, version) index, one statement per append (a multi-row INSERT from unnest for
// batches), one SELECT per stream load, keyset pages on a bigserial for the global log. It has no
// idempotency by event id, no event-type index, no notifications, returns no position, and its
// global log is only exact when no writer is running: a physical limit, not a usable store.
//
// Exact expected versions: the unique index refuses an append when the stream is ahead of the
// expected version, but not when it is behind (expected 5 on a stream at 2 would write version 6,
// a gap). So the statement also requires version `expected` to exist, one index probe: with both,
// the append succeeds only at exactly the expected version, which W1 and W2 ask for.
// `createRawPgUnchecked` leaves the probe out (the baseline of earlier runs) to show its cost.
import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** @param {{ url: string, schema: string, poolSize: number }} options */
export function createRawPg(options) {
  return createRawPgContender(options, true);
}

/** The same without the probe for "stream behind": a wrong expected version can leave a gap. */
export function createRawPgUnchecked(options) {
  return createRawPgContender(options, false);
}

async function createRawPgContender({ url, schema, poolSize }, checkBehind) {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  const table = `"${schema}".events`;
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await pool.query(`CREATE TABLE ${table} (
    position bigserial PRIMARY KEY,
    stream_id text NOT NULL,
    version integer NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version))`);
  // $2 is the expected version; the probe holds when the stream has reached it.
  const behindCheck = checkBehind
    ? `WHERE $2::integer = 0 OR EXISTS (SELECT 1 FROM ${table} e WHERE e.stream_id = $1::text AND e.version = $2::integer)`
    : '';
  const insertOne = {
    name: `raw-insert-one-${schema}`,
    text: `INSERT INTO ${table} (stream_id, version, event_id, type, data)
           SELECT $1::text, $2::integer + 1, $3::uuid, $4::text, $5::jsonb ${behindCheck}`,
  };
  const insertMany = {
    name: `raw-insert-many-${schema}`,
    text: `INSERT INTO ${table} (stream_id, version, event_id, type, data)
           SELECT $1::text, $2::integer + x.n, x.id, x.type, x.data
           FROM unnest($3::uuid[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS x(id, type, data, n)
           ${behindCheck}`,
  };
  const selectStream = {
    name: `raw-stream-${schema}`,
    text: `SELECT position, stream_id, version, event_id, type, data, metadata, created_at
           FROM ${table} WHERE stream_id = $1 ORDER BY version`,
  };
  const selectPage = {
    name: `raw-page-${schema}`,
    text: `SELECT position, stream_id, version, event_id, type, data, metadata, created_at
           FROM ${table} WHERE position > $1 ORDER BY position LIMIT $2`,
  };
  const refused = (streamId, expected) => {
    throw new Error(`raw pg: stream ${streamId} is not at the expected version ${expected}`);
  };
  return {
    name: checkBehind ? 'raw pg' : 'raw pg, unchecked',
    append: async (streamId, expected, events) => {
      if (events.length === 1) {
        const [event] = events;
        const { rowCount } = await pool.query({
          ...insertOne,
          values: [streamId, expected, randomUUID(), event.type, JSON.stringify(event.data)],
        });
        if (rowCount !== 1) refused(streamId, expected);
        return;
      }
      const { rowCount } = await pool.query({
        ...insertMany,
        values: [
          streamId,
          expected,
          events.map(() => randomUUID()),
          events.map((event) => event.type),
          events.map((event) => JSON.stringify(event.data)),
        ],
      });
      if (rowCount !== events.length) refused(streamId, expected);
    },
    readStream: async (streamId) => (await pool.query({ ...selectStream, values: [streamId] })).rows.length,
    readAll: async (batchSize, visit) => {
      let after = '0';
      for (;;) {
        const { rows } = await pool.query({ ...selectPage, values: [after, batchSize] });
        for (const row of rows) visit(row.stream_id, row.version);
        if (rows.length < batchSize) return;
        after = rows[rows.length - 1].position;
      }
    },
    close: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
