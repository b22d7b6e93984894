import { randomUUID } from 'node:crypto';
import {
  type AppendConditionFailedError,
  ExpectedVersion,
  isAppendConditionFailedError,
  type NewEvent,
} from '@es/core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from '@jest/globals';
import pg from 'pg';
import { type HeldTransaction, holdTransaction } from '../../test/held-transaction.js';
import { describeOnScratchCluster } from '../../test/scratch-cluster.js';
import { createSqlExecutor } from '../connection/connection.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

// The DCB locks (migration 007) of coalesced batches, made observable as in dcb-locks.int.test.ts:
// one side is held open in a transaction on one connection, the other must wait for it (seen in
// pg_locks), and its outcome after the commit proves it saw the first. Both batch shapes are
// covered: all fast-path appends (the single INSERT of migration 009's fast path) and a mixed batch
// (the coalesced append function). Each case fails if the batch took no SHARED lock on what it
// writes: the conditional append, or the batch, would finish unblocked.
describeOnScratchCluster('DCB advisory locks of coalesced batches', (url) => {
  let pool: pg.Pool;
  let schema: string;
  let store: PostgresEventStore;
  let held: HeldTransaction;
  // Stores whose every statement runs on `held`, inside its open transaction.
  let inTransaction: PostgresEventStore;
  let coalescedInTransaction: PostgresEventStore;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: url(), max: 6 });
  });

  afterAll(async () => {
    await pool.end();
  });

  beforeEach(async () => {
    schema = uniqueSchema();
    await migrate({ connection: pool, schema });
    store = new PostgresEventStore({ connection: pool, schema, notify: false, coalesce: true });
    // Opens the log's first era, committed (see dcb-locks.int.test.ts).
    await store.appendEvents('seed', ExpectedVersion.NoStream, [{ type: 'Seeded', data: {} }]);
    held = await holdTransaction(pool);
    const { connection } = held;
    inTransaction = new PostgresEventStore({ connection, schema, notify: false });
    coalescedInTransaction = new PostgresEventStore({ connection, schema, notify: false, coalesce: true });
  });

  afterEach(async () => {
    await held.end();
    const executor = createSqlExecutor(pool);
    await dropSchema(executor, schema);
    await executor.close();
  });

  const blockedOrFinished = (work: Promise<unknown>) => held.blockedOrFinished(work);

  const tagged = (type: string, tags: string[]): NewEvent => ({ type, data: {}, tags });

  // Appends started in one tick share a batch: all fast-path, or mixed (a two-event append).
  const batches: [string, (on: PostgresEventStore, tag: string) => Promise<unknown>][] = [
    [
      'batch of fast-path appends',
      (on, tag) =>
        Promise.all([
          on.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('A', [])]),
          on.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('A', [tag])]),
        ]),
    ],
    [
      // Past 64 tags and types the fast path locks through migration 009's function, not inline.
      'batch of fast-path appends with more than 64 tags',
      (on, tag) =>
        Promise.all([
          // 70 distinct tags in the batch (an event holds at most 64).
          on.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [
            tagged(
              'A',
              Array.from({ length: 35 }, (_, i) => `first-${i}`),
            ),
          ]),
          on.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [
            tagged('A', [tag, ...Array.from({ length: 34 }, (_, i) => `second-${i}`)]),
          ]),
        ]),
    ],
    [
      'mixed batch (fast path and locked path)',
      (on, tag) =>
        Promise.all([
          on.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('A', [tag])]),
          on.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('A', []), tagged('A', [])]),
        ]),
    ],
  ];

  for (const [title, write] of batches) {
    it(`a conditional append waits for an uncommitted ${title} writing a matching event, then fails`, async () => {
      const tag = `t-${randomUUID()}`;
      const query = { items: [{ tags: [tag] }] };
      const { position } = await store.read(query);
      await write(coalescedInTransaction, tag);
      const conditional = store.append([tagged('B', ['decided'])], {
        condition: { failIfEventsMatch: query, afterPosition: position },
      });
      expect(await blockedOrFinished(conditional)).toBe('blocked');
      await held.client.query('COMMIT');
      const error = await conditional.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAppendConditionFailedError(error)).toBe(true);
      expect((error as AppendConditionFailedError).conflictingPosition).toBeGreaterThan(position);
    });

    it(`a ${title} waits for an uncommitted conditional append on a tag it writes, and lands after it`, async () => {
      const tag = `t-${randomUUID()}`;
      const decided = await inTransaction.append([tagged('Decided', [tag])], {
        condition: { failIfEventsMatch: { items: [{ tags: [tag] }] } },
      });
      const batch = write(store, tag) as Promise<{ lastPosition: bigint }[]>;
      expect(await blockedOrFinished(batch)).toBe('blocked');
      await held.client.query('COMMIT');
      for (const { lastPosition } of await batch) expect(lastPosition).toBeGreaterThan(decided.lastPosition);
    });
  }

  it('a conditional append on a stream id waits for an uncommitted fast-path batch writing that stream', async () => {
    const stream = `s-${randomUUID()}`;
    const query = { items: [{ tags: [stream] }] };
    const { position } = await store.read(query);
    await Promise.all([
      coalescedInTransaction.appendEvents(stream, ExpectedVersion.NoStream, [tagged('A', [])]),
      coalescedInTransaction.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('A', [])]),
    ]);
    const conditional = store.append([tagged('B', [])], {
      condition: { failIfEventsMatch: query, afterPosition: position },
    });
    expect(await blockedOrFinished(conditional)).toBe('blocked');
    await held.client.query('COMMIT');
    const error = await conditional.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAppendConditionFailedError(error)).toBe(true);
  });
});
