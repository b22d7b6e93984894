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

/**
 * `raw` with its appends gathered as a coalescing store gathers them (issue 16): concurrent appends
 * wait while up to two batches are in flight, then go together in one multi-row INSERT (one round
 * trip, one transaction) that keeps only the per-append version probe. The ceiling of write
 * coalescing: no locks, no per-append outcome, no event ids, no position returned; a batch with a
 * refused append fails whole.
 */
export async function createRawPgBatched(options) {
  const raw = await createRawPgContender(options, true);
  const { pool, table, schema } = raw.internals;
  const insertBatch = {
    name: `raw-insert-batch-${schema}`,
    // One row per event: its stream, the append's expected version, its version. The probe is per
    // append (expected version exists), as in `raw`.
    text: `INSERT INTO ${table} (stream_id, version, event_id, type, data)
           SELECT x.stream_id, x.version, x.id, x.type, x.data
           FROM unnest($1::text[], $2::integer[], $3::integer[], $4::uuid[], $5::text[], $6::jsonb[])
                AS x(stream_id, expected, version, id, type, data)
           -- LATERAL + LIMIT: one index probe per row (an EXISTS under OR may become a hashed
           -- sub-plan that reads the whole table).
           LEFT JOIN LATERAL (SELECT 1 AS found FROM ${table} e
                              WHERE e.stream_id = x.stream_id AND e.version = x.expected LIMIT 1) probe ON true
           WHERE x.expected = 0 OR probe.found IS NOT NULL`,
  };
  const queue = [];
  let inFlight = 0;
  let scheduled = false;
  const send = async (batch) => {
    const columns = [[], [], [], [], [], []];
    for (const { streamId, expected, events } of batch) {
      events.forEach((event, i) => {
        columns[0].push(streamId);
        columns[1].push(expected);
        columns[2].push(expected + i + 1);
        columns[3].push(randomUUID());
        columns[4].push(event.type);
        columns[5].push(JSON.stringify(event.data));
      });
    }
    try {
      const { rowCount } = await pool.query({ ...insertBatch, values: columns });
      const error =
        rowCount === columns[0].length
          ? undefined
          : new Error('raw pg batched: an append was not at its expected version');
      for (const item of batch) error ? item.reject(error) : item.resolve();
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  };
  const dispatch = () => {
    scheduled = false;
    while (inFlight < 2 && queue.length > 0) {
      const batch = queue.splice(0, 256);
      inFlight++;
      void send(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  };
  const schedule = () => {
    if (scheduled || inFlight >= 2 || queue.length === 0) return;
    scheduled = true;
    setImmediate(dispatch);
  };
  return {
    ...raw,
    name: 'raw pg, batched',
    append: (streamId, expected, events) =>
      new Promise((resolve, reject) => {
        queue.push({ streamId, expected, events, resolve, reject });
        schedule();
      }),
  };
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
  // The narrow readers: only what a projection usually needs (version, type, data), to show what
  // building every field of every event costs a store.
  const selectStreamNarrow = {
    name: `raw-stream-narrow-${schema}`,
    text: `SELECT version, type, data FROM ${table} WHERE stream_id = $1 ORDER BY version`,
  };
  const selectPageNarrow = {
    name: `raw-page-narrow-${schema}`,
    text: `SELECT position, version, type, data FROM ${table} WHERE position > $1 ORDER BY position LIMIT $2`,
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
    internals: { pool, table, schema },
    readStream: async (streamId) => (await pool.query({ ...selectStream, values: [streamId] })).rows.length,
    readStreamNarrow: async (streamId) =>
      (await pool.query({ ...selectStreamNarrow, values: [streamId], rowMode: 'array' })).rows.length,
    readAllNarrow: async (batchSize, visit) => {
      let after = '0';
      for (;;) {
        const { rows } = await pool.query({
          ...selectPageNarrow,
          values: [after, batchSize],
          rowMode: 'array',
        });
        for (const row of rows) visit(row[1]);
        if (rows.length < batchSize) return;
        after = rows[rows.length - 1][0];
      }
    },
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
