// Contender: the raw pg baseline, the least work the same job needs: one table with a unique
// (stream_id, version) index that enforces exact expected versions, one statement per append
// (a multi-row INSERT from unnest for batches), one SELECT per stream load, keyset pages on a
// bigserial for the global log. It has no idempotency by event id, no event-type index, no
// notifications and a global log that is only exact when no writer is running: a physical limit,
// not a usable store.
import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** @param {{ url: string, schema: string, poolSize: number }} options */
export async function createRawPg({ url, schema, poolSize }) {
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
  const insertOne = {
    name: `raw-insert-one-${schema}`,
    text: `INSERT INTO ${table} (stream_id, version, event_id, type, data) VALUES ($1, $2, $3, $4, $5)`,
  };
  const insertMany = {
    name: `raw-insert-many-${schema}`,
    text: `INSERT INTO ${table} (stream_id, version, event_id, type, data)
           SELECT $1, $2 + x.n, x.id, x.type, x.data
           FROM unnest($3::uuid[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS x(id, type, data, n)`,
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
  return {
    name: 'raw pg',
    append: async (streamId, expected, events) => {
      if (events.length === 1) {
        const [event] = events;
        await pool.query({
          ...insertOne,
          values: [streamId, expected + 1, randomUUID(), event.type, JSON.stringify(event.data)],
        });
        return;
      }
      await pool.query({
        ...insertMany,
        values: [
          streamId,
          expected,
          events.map(() => randomUUID()),
          events.map((event) => event.type),
          events.map((event) => JSON.stringify(event.data)),
        ],
      });
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
