// One throughput run: reads every stored event once through one contender, sampling memory.
import { EventReplayer, Projection } from '@es/replay';
import { PostgresCheckpointStore, PostgresEventStore } from '@es/store-postgres';
import pg from 'pg';
import { startMemorySampler } from './memory-sampler.mjs';

const COLUMNS = 'event_id, stream_id, version, position, type, schema_version, data, metadata, created_at';

/** The contenders, in the order the tables list them. The first is the baseline. */
export const THROUGHPUT_CONTENDERS = {
  'keyset SELECT (baseline)': async ({ pool, schema, batchSize }) => {
    let cursor = '0';
    let count = 0;
    let sum = 0;
    for (;;) {
      const { rows } = await pool.query({
        name: 'bench-keyset',
        text: `SELECT ${COLUMNS} FROM "${schema}".events WHERE position > $1 ORDER BY position LIMIT $2`,
        values: [cursor, batchSize],
      });
      for (const row of rows) sum += row.data.amount;
      count += rows.length;
      if (rows.length < batchSize) return { count, sum };
      cursor = rows[rows.length - 1].position;
    }
  },
  'store.getAllEvents': async ({ store, batchSize }) => {
    let count = 0;
    let sum = 0;
    for await (const event of store.getAllEvents(0n, { batchSize })) {
      sum += event.data.amount;
      count++;
    }
    return { count, sum };
  },
  'EventReplayer.replayAll': async ({ store, batchSize }) => {
    let sum = 0;
    const result = await new EventReplayer(store).replayAll(
      (event) => {
        sum += event.data.amount;
      },
      0n,
      { batchSize },
    );
    return { count: result.processed, sum };
  },
  'replayAll parallel(4)': async ({ store, batchSize }) => {
    let sum = 0;
    const result = await new EventReplayer(store).replayAll(
      async (event) => {
        sum += event.data.amount;
      },
      0n,
      { batchSize, parallel: { concurrency: 4 } },
    );
    return { count: result.processed, sum };
  },
  'Projection catch-up (PG checkpoint/batch)': async ({ pool, store, schema, batchSize, head }) => {
    let count = 0;
    let sum = 0;
    const checkpoints = new PostgresCheckpointStore({ connection: pool, schema });
    const name = `bench-${process.pid}-${Date.now()}`;
    const projection = new Projection({
      name,
      eventStore: store,
      checkpoints,
      batchSize,
      handler: (event) => {
        sum += event.data.amount;
        count++;
      },
    });
    projection.start();
    await projection.waitForPosition(head);
    await projection.stop();
    await checkpoints.reset(name);
    return { count, sum };
  },
};

/** Runs one contender in this process and returns its figures. */
export async function runThroughput(contender, { url, schema, batchSize }) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const store = new PostgresEventStore({ connection: pool, schema });
  const head = BigInt((await pool.query(`SELECT max(position) AS p FROM "${schema}".events`)).rows[0].p);
  global.gc?.();
  const sampler = startMemorySampler();
  const started = performance.now();
  const { count, sum } = await THROUGHPUT_CONTENDERS[contender]({ pool, store, schema, batchSize, head });
  const seconds = (performance.now() - started) / 1000;
  const memory = sampler.stop();
  await store.close();
  await pool.end();
  return { contender, count, sum, seconds, eventsPerSecond: count / seconds, ...memory };
}
