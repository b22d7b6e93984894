import type { EventStore } from '@es/core';
import { describeDcbContract, describeWithService } from '@es/testing';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { contractConfig } from '../testing/contract-setup.js';

// Dynamic consistency boundaries on a real server: 8 conditional appenders race with the same
// condition over 100 rounds (exactly one wins each), disjoint tags never conflict, no write skew.
describeWithService('PostgresEventStore DCB on a PostgreSQL server', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;

  beforeAll(() => {
    // More connections than racers, so every racer holds its own transaction at once.
    pool = new pg.Pool({ connectionString: url, max: 12 });
  });

  afterAll(async () => {
    await pool.end();
  });

  const config = contractConfig('PostgresEventStore (server)', () => pool);
  describeDcbContract({
    ...config,
    // The contract's global-log reads wait until the last appendEvents is visible (the server
    // hides events while older transactions run, and the server is shared), but not for
    // append(): this does, so that its readAll sees what append() wrote.
    create: async (options) => {
      const sameStorageAs =
        options.sameStorageAs && (unwrapped.get(options.sameStorageAs) ?? options.sameStorageAs);
      const store = await config.create({ ...options, sameStorageAs });
      const proxy = visibleAfterAppend(store);
      unwrapped.set(proxy, store);
      return proxy;
    },
    cleanup: (store) => config.cleanup!(unwrapped.get(store) ?? store),
    racers: 8,
    rounds: 100,
  });
});

const unwrapped = new WeakMap<EventStore, EventStore>();

function visibleAfterAppend(store: EventStore): EventStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'append') {
        return async (...args: Parameters<NonNullable<EventStore['append']>>) => {
          const result = await target.append!(...args);
          for (let waited = 0; waited < 30_000; waited += 10) {
            const next = target.getAllEvents(result.lastPosition - 1n, { batchSize: 1 });
            let seen = false;
            for await (const _ of next) {
              seen = true;
              break;
            }
            if (seen) break;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          return result;
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
