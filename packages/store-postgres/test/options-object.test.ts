import { PGlite } from '@electric-sql/pglite';
import { isInvalidArgumentError } from '@es/core';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createSqlExecutor } from '../src/connection/connection.js';
import { PostgresEventStore } from '../src/events/postgres-event-store.js';
import { PostgresCheckpointStore } from '../src/projections/postgres-checkpoint-store.js';
import { PostgresProjectionLock } from '../src/projections/postgres-projection-lock.js';
import { PostgresProjectionStore } from '../src/projections/postgres-projection-store.js';
import { migrate } from '../src/schema/migrate.js';
import { PostgresSnapshotStore } from '../src/snapshots/postgres-snapshot-store.js';
import { uniqueSchema } from '../src/testing/test-support.js';

// Every store, the lock and migrate() take one options object { connection, ... }; connection is a
// connection string, a pg.Pool, a PGlite instance or an executor from createSqlExecutor.

const db = new PGlite();
afterAll(() => db.close());

const makers: ReadonlyArray<[string, (options: unknown) => unknown]> = [
  ['PostgresEventStore', (options) => new PostgresEventStore(options as never)],
  ['PostgresSnapshotStore', (options) => new PostgresSnapshotStore(options as never)],
  ['PostgresCheckpointStore', (options) => new PostgresCheckpointStore(options as never)],
  ['PostgresProjectionStore', (options) => new PostgresProjectionStore(options as never)],
  ['PostgresProjectionLock', (options) => new PostgresProjectionLock(options as never)],
];

function refusal(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('one options object', () => {
  it.each(makers)('%s refuses a bare connection (the old first argument) and null', (_, make) => {
    for (const options of ['postgres://nobody@127.0.0.1:9/none', null, db]) {
      const error = refusal(() => make(options));
      expect(isInvalidArgumentError(error)).toBe(true);
    }
  });

  it.each(makers)('%s refuses a connection that is none of the four kinds', (_, make) => {
    const error = refusal(() => make({ connection: { query: () => undefined } }));
    expect(isInvalidArgumentError(error)).toBe(true);
    expect((error as Error).message).toMatch(/connection/);
  });

  it('migrate refuses a bare connection', async () => {
    await expect(migrate(db as never)).rejects.toThrow(/connection/);
    await expect(migrate('postgres://nobody@127.0.0.1:9/none' as never)).rejects.toThrow(/options/);
  });

  it('every store accepts an executor as connection, and leaves it open when closed', async () => {
    const executor = createSqlExecutor(db);
    const schema = uniqueSchema();
    await migrate({ connection: executor, schema });
    const stores = [
      new PostgresEventStore({ connection: executor, schema }),
      new PostgresSnapshotStore({ connection: executor, schema }),
      new PostgresCheckpointStore({ connection: executor, schema }),
      new PostgresProjectionStore({ connection: executor, schema }),
    ];
    const checkpoints = stores[2] as PostgresCheckpointStore;
    await checkpoints.save('shape', 7n);
    expect(await (stores[3] as PostgresProjectionStore).load('shape')).toBe(7n);
    for (const store of stores) await store.close();
    expect(await executor.query<{ one: number }>({ text: 'SELECT 1 AS one' })).toEqual([{ one: 1 }]);
  });

  it('the lock works on PGlite and on its executor: a second holder waits until the first releases', async () => {
    const signal = new AbortController().signal;
    // The lock keeps its lease in the lease table of migration 006.
    await migrate({ connection: db });
    const first = new PostgresProjectionLock({ connection: db });
    const second = new PostgresProjectionLock({ connection: createSqlExecutor(db) });
    const lease = await first.tryAcquire('shape-lock', signal);
    expect(lease).toBeDefined();
    expect(await second.tryAcquire('shape-lock', signal)).toBeUndefined();
    expect(await second.tryAcquire('another', signal)).toBeDefined();
    await lease!.release();
    expect(lease!.lost.aborted).toBe(true);
    const next = await second.tryAcquire('shape-lock', signal);
    expect(next).toBeDefined();
    await next!.release();
  });
});
