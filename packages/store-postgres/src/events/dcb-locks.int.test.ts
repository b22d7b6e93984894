import { randomUUID } from 'node:crypto';
import {
  type AppendConditionFailedError,
  type EventQuery,
  ExpectedVersion,
  isAppendConditionFailedError,
  type NewEvent,
} from '@es/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { type HeldTransaction, holdTransaction } from '../../test/held-transaction.js';
import { describeOnScratchCluster } from '../../test/scratch-cluster.js';
import { createSqlExecutor } from '../connection/connection.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

// The locks of migration 007, made observable: one append is held open in a transaction (a store
// on one connection inside BEGIN), and the other must wait for it (seen in pg_locks as blocked by
// that connection) rather than finish first; its outcome after the commit proves it saw the first.
// Each case fails if the lock it names were missing: the second append would finish unblocked.
// On a cluster of its own: its held transactions would hold back other tests' reads of the log.
describeOnScratchCluster('DCB advisory locks on a PostgreSQL server', (url) => {
  let pool: pg.Pool;
  let schema: string;
  let store: PostgresEventStore;
  let held: HeldTransaction;
  // A store whose every statement runs on `held`, inside its open transaction.
  let inTransaction: PostgresEventStore;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: url(), max: 6 });
  });

  afterAll(async () => {
    await pool.end();
  });

  beforeEach(async () => {
    schema = uniqueSchema();
    await migrate({ connection: pool, schema });
    store = new PostgresEventStore({ connection: pool, schema, notify: false });
    // Opens the log's first era, committed: otherwise the first append inside the held
    // transaction would open it, and every other append would wait on that instead.
    await store.appendEvents('seed', ExpectedVersion.NoStream, [{ type: 'Seeded', data: {} }]);
    held = await holdTransaction(pool);
    inTransaction = new PostgresEventStore({ connection: held.connection, schema, notify: false });
  });

  afterEach(async () => {
    await held.end();
    const executor = createSqlExecutor(pool);
    await dropSchema(executor, schema);
    await executor.close();
  });

  const blockedOrFinished = (work: Promise<unknown>) => held.blockedOrFinished(work);

  const tagged = (type: string, tags: string[]): NewEvent => ({ type, data: {}, tags });

  describe('a conditional append waits for an uncommitted writer of a matching event, then fails', () => {
    const cases: [string, (tag: string) => Promise<unknown>, (tag: string) => EventQuery][] = [
      [
        'exact-version appendEvents (the INSERT without a function) with the tag',
        (tag) =>
          inTransaction.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('A', [tag])]),
        (tag) => ({ items: [{ tags: [tag] }] }),
      ],
      [
        'appendEvents with ExpectedVersion.Any (the append function) with the tag',
        (tag) => inTransaction.appendEvents(`s-${randomUUID()}`, ExpectedVersion.Any, [tagged('A', [tag])]),
        (tag) => ({ items: [{ tags: [tag] }] }),
      ],
      [
        'exact-version appendEvents to a stream named as the tag (a stream id is a tag)',
        (tag) => inTransaction.appendEvents(tag, ExpectedVersion.NoStream, [{ type: 'A', data: {} }]),
        (tag) => ({ items: [{ tags: [tag] }] }),
      ],
      [
        'an exact-version append of more than 64 tags and types (the append function, its coarse lock)',
        (tag) =>
          inTransaction.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [
            tagged('A', [tag, ...Array.from({ length: 40 }, (_, i) => `a${i}-${tag}`)]),
            tagged(
              'B',
              Array.from({ length: 40 }, (_, i) => `b${i}-${tag}`),
            ),
          ]),
        (tag) => ({ items: [{ tags: [tag] }] }),
      ],
      [
        'an event of a type a types-only condition names',
        (tag) => inTransaction.appendEvents(`s-${randomUUID()}`, 0, [{ type: `T-${tag}`, data: {} }]),
        (tag) => ({ items: [{ eventTypes: [`T-${tag}`] }] }),
      ],
      [
        'a conditional append (its own condition elsewhere) writing the tag',
        (tag) =>
          inTransaction.append([tagged('A', [tag, 'other'])], {
            condition: { failIfEventsMatch: { items: [{ tags: [`elsewhere-${tag}`] }] } },
          }),
        (tag) => ({ items: [{ tags: [tag, 'other'] }] }),
      ],
    ];
    for (const [title, write, query] of cases) {
      it(title, async () => {
        const tag = `t-${randomUUID()}`;
        const { position } = await store.read(query(tag));
        await write(tag);
        const conditional = store.append([tagged('B', ['decided'])], {
          condition: { failIfEventsMatch: query(tag), afterPosition: position },
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
    }
  });

  it('a plain writer of a tag waits for an uncommitted conditional append on it, and lands after it', async () => {
    const tag = `t-${randomUUID()}`;
    const decided = await inTransaction.append([tagged('Decided', [tag])], {
      condition: { failIfEventsMatch: { items: [{ tags: [tag] }] } },
    });
    const plain = store.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('Plain', [tag])]);
    expect(await blockedOrFinished(plain)).toBe('blocked');
    await held.client.query('COMMIT');
    const { lastPosition } = await plain;
    expect(lastPosition).toBeGreaterThan(decided.lastPosition);
  });

  it('plain writers of the same tag do not wait for each other', async () => {
    const tag = `t-${randomUUID()}`;
    await inTransaction.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('A', [tag])]);
    // Finishes while the first writer's transaction is still open.
    await store.appendEvents(`s-${randomUUID()}`, ExpectedVersion.NoStream, [tagged('A', [tag])]);
    await store.appendEvents(`s-${randomUUID()}`, ExpectedVersion.Any, [tagged('A', [tag])]);
    await held.client.query('COMMIT');
    // The log shows them once every older transaction on the (shared) server has ended.
    let events: readonly unknown[] = [];
    for (const deadline = Date.now() + 30_000; events.length < 3 && Date.now() < deadline; ) {
      ({ events } = await store.read({ items: [{ tags: [tag] }] }));
      if (events.length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(events).toHaveLength(3);
  });
});
