import { PGlite } from '@electric-sql/pglite';
import { ExpectedVersion } from '@es/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

const opened = { type: 'Opened', data: {} };

/** Counts calls; `next()` resolves at the next call, or rejects after `ms`. */
function counter(ms = 5_000) {
  let count = 0;
  let wake: (() => void) | undefined;
  return {
    listener: () => {
      count += 1;
      wake?.();
    },
    get count() {
      return count;
    },
    next: () =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no notification within ${ms} ms`)), ms);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      }),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('subscribeToAppends on PGlite', () => {
  let db: PGlite;
  let schema: string;

  beforeAll(async () => {
    db = new PGlite();
    schema = uniqueSchema();
    await migrate({ connection: db, schema });
  }, 120_000);

  afterAll(async () => {
    await dropSchema(createSqlExecutor(db), schema);
    await db.close();
  });

  it('wakes a subscriber after each committed append, not after a refused one', async () => {
    const store = new PostgresEventStore({ connection: db, schema });
    const calls = counter();
    const subscription = await store.subscribeToAppends(calls.listener);
    let woken = calls.next();
    await store.appendEvents('s-1', ExpectedVersion.NoStream, [opened]);
    await woken;
    await settle();
    const afterFirst = calls.count;
    await expect(store.appendEvents('s-1', ExpectedVersion.NoStream, [opened])).rejects.toThrow(/conflict/i);
    await settle();
    expect(calls.count).toBe(afterFirst);
    woken = calls.next();
    await store.appendEvents('s-2', ExpectedVersion.NoStream, [opened]);
    await woken;
    await subscription.close();
    await settle();
    const afterClose = calls.count;
    await store.appendEvents('s-3', ExpectedVersion.NoStream, [opened]);
    await settle();
    expect(calls.count).toBe(afterClose);
    await store.close();
  });

  it('coalesces a burst of appends into few notifications', async () => {
    const store = new PostgresEventStore({ connection: db, schema });
    const calls = counter();
    const subscription = await store.subscribeToAppends(calls.listener);
    const woken = calls.next();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.appendEvents(`burst-${i}`, ExpectedVersion.NoStream, [opened]),
      ),
    );
    await woken;
    await settle();
    expect(calls.count).toBeGreaterThanOrEqual(1);
    expect(calls.count).toBeLessThan(20);
    await subscription.close();
    await store.close();
  });

  it('sends nothing when notify is off, and says so in its capabilities', async () => {
    const quiet = new PostgresEventStore({ connection: db, schema, notify: false });
    const store = new PostgresEventStore({ connection: db, schema });
    expect(quiet.capabilities.liveNotifications).toBe(false);
    const calls = counter();
    const subscription = await store.subscribeToAppends(calls.listener);
    await quiet.appendEvents('quiet-1', ExpectedVersion.NoStream, [opened]);
    await settle();
    expect(calls.count).toBe(0);
    await subscription.close();
    await store.close();
    await quiet.close();
  });
});
