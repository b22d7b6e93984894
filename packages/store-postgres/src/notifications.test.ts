import { PGlite } from '@electric-sql/pglite';
import { ExpectedVersion } from '@es/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSqlExecutor } from './connection.js';
import { migrate } from './migrate.js';
import { PostgresEventStore } from './postgres-event-store.js';
import { dropSchema, uniqueSchema } from './test-support.js';

const opened = { type: 'Opened', data: {} };

/** Resolves after `listener` has been called `count` times, or rejects after `ms`. */
function calls(count: number, ms = 5_000): { listener: () => void; done: Promise<void> } {
  let seen = 0;
  let resolve!: () => void;
  const done = new Promise<void>((ok, fail) => {
    resolve = ok;
    setTimeout(() => fail(new Error(`listener called ${seen} of ${count} times`)), ms).unref();
  });
  return {
    listener: () => {
      seen += 1;
      if (seen === count) resolve();
    },
    done,
  };
}

describe('subscribeToAppends on PGlite', () => {
  let db: PGlite;
  let schema: string;

  beforeAll(async () => {
    db = new PGlite();
    schema = uniqueSchema();
    await migrate(db, { schema });
  }, 120_000);

  afterAll(async () => {
    await dropSchema(createSqlExecutor(db), schema);
    await db.close();
  });

  it('wakes a subscriber after each committed append, not after a refused one', async () => {
    const store = new PostgresEventStore({ connection: db, schema });
    const { listener, done } = calls(2);
    let count = 0;
    const subscription = await store.subscribeToAppends(() => {
      count += 1;
      listener();
    });
    await store.appendEvents('s-1', ExpectedVersion.NoStream, [opened]);
    await expect(store.appendEvents('s-1', ExpectedVersion.NoStream, [opened])).rejects.toThrow(/conflict/i);
    await store.appendEvents('s-2', ExpectedVersion.NoStream, [opened]);
    await done;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(count).toBe(2);
    await subscription.close();
    await store.appendEvents('s-3', ExpectedVersion.NoStream, [opened]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(count).toBe(2);
    await store.close();
  });

  it('sends nothing when notify is off, and says so in its capabilities', async () => {
    const quiet = new PostgresEventStore({ connection: db, schema, notify: false });
    const store = new PostgresEventStore({ connection: db, schema });
    expect(quiet.capabilities.liveNotifications).toBe(false);
    let count = 0;
    const subscription = await store.subscribeToAppends(() => {
      count += 1;
    });
    await quiet.appendEvents('quiet-1', ExpectedVersion.NoStream, [opened]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(count).toBe(0);
    await subscription.close();
    await store.close();
    await quiet.close();
  });
});
