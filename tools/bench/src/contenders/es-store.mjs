// Contender: @es/store-postgres, as an application would use it (notifications on, no registry).
import * as current from '@es/store-postgres';
import pg from 'pg';

/** @param {{ url: string, schema: string, poolSize: number }} options */
export function createEsStore(options) {
  return createStore(current, '@es/store-postgres', options);
}

/** @es/store-postgres with write coalescing on (`coalesce: true`, issue 16). */
export function createEsStoreCoalesced(options) {
  return createStore(current, '@es/store-postgres, coalesce', options, { coalesce: true });
}

/**
 * Write coalescing without the post-commit NOTIFY (`notify: false`), to show what the
 * notifications cost next to `raw-batched`, which sends none.
 */
export function createEsStoreCoalescedQuiet(options) {
  return createStore(current, '@es/store-postgres, coalesce, no notify', options, {
    coalesce: true,
    notify: false,
  });
}

/**
 * The same store built from another commit, to compare a change side by side in one run:
 * BENCH_ES_BEFORE is the path of that build's dist/index.js (see the README).
 * @param {{ url: string, schema: string, poolSize: number }} options
 */
export async function createEsStoreBefore(options) {
  const path = process.env.BENCH_ES_BEFORE;
  if (!path)
    throw new Error(
      'es-before needs BENCH_ES_BEFORE=<path of another build of @es/store-postgres dist/index.js>',
    );
  return createStore(await import(path), '@es/store-postgres (before)', options);
}

/** The build of BENCH_ES_BEFORE with write coalescing on: a coalescing change side by side. */
export async function createEsStoreBeforeCoalesced(options) {
  const path = process.env.BENCH_ES_BEFORE;
  if (!path)
    throw new Error(
      'es-coalesce-before needs BENCH_ES_BEFORE=<path of another build of @es/store-postgres dist/index.js>',
    );
  return createStore(await import(path), '@es/store-postgres (before), coalesce', options, {
    coalesce: true,
  });
}

async function createStore({ migrate, PostgresEventStore }, name, { url, schema, poolSize }, extra = {}) {
  await migrateEither(migrate, url, schema);
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // BENCH_ES_NOTIFY=0 measures the store without its post-commit NOTIFY (an experiment, not a default).
  const store = new PostgresEventStore({
    connection: pool,
    schema,
    notify: process.env.BENCH_ES_NOTIFY !== '0',
    ...extra,
  });
  let lastAcknowledged = 0n;
  return {
    name,
    /** Appends `events` ({ type, data }[]) at exactly `expected` (0 = new stream). */
    append: async (streamId, expected, events) => {
      const { lastPosition } = await store.appendEvents(streamId, expected, events);
      if (lastPosition > lastAcknowledged) lastAcknowledged = lastPosition;
    },
    /**
     * Waits until the last acknowledged append is visible in the global log: events stay hidden
     * while any older transaction of the cluster is running (see the store's README).
     */
    settle: async () => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        for await (const event of store.getAllEvents(lastAcknowledged - 1n, { batchSize: 1 })) {
          if (event.position === lastAcknowledged) return;
        }
        if (Date.now() > deadline) throw new Error('the last append did not become visible within 120 s');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    /** Loads a stream; returns how many events it holds. */
    readStream: async (streamId) => (await store.getEvents(streamId)).length,
    /** Reads the global log from the start in batches, calling visit(streamId, version) per event. */
    readAll: async (batchSize, visit) => {
      for await (const event of store.getAllEvents(0n, { batchSize })) visit(event.streamId, event.version);
    },
    close: async () => {
      await store.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

/**
 * Runs `migrate` of either build: the current one takes one options object, `migrate({ connection,
 * schema })`; builds before that change (an `es-before` build of an older commit) take
 * `migrate(connection, { schema })`, and refuse the object with InvalidArgumentError naming
 * `connection`, so that error sends the call to the old shape. The event store took
 * `{ connection, schema }` in both.
 */
async function migrateEither(migrate, url, schema) {
  try {
    return await migrate({ connection: url, schema });
  } catch (error) {
    if (!/^Invalid connection/.test(String(error?.message))) throw error;
    // The old shape: (connection, options).
    const oldShape = migrate;
    return oldShape(url, { schema });
  }
}
