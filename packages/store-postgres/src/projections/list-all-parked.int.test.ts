import { randomUUID } from 'node:crypto';
import type { ParkedEvent } from '@es/core';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresProjectionStore } from './postgres-projection-store.js';

const parkedEventAt = (subscriptionId: string, position: bigint): ParkedEvent => ({
  subscriptionId,
  position,
  eventId: randomUUID(),
  streamId: `stream-${position}`,
  eventType: 'Deposited',
  error: 'Error: refused',
  attempts: 3,
  parkedAt: new Date('2026-12-03T12:00:00Z'),
});

describeWithService('PostgresProjectionStore.listAllParked (server)', 'DATABASE_URL', (url) => {
  let admin: SqlExecutor;
  let store: PostgresProjectionStore;
  const schema = uniqueSchema('es_all_parked');
  // A group "g" (partitions g#0, g#1), a plain subscription "g", a group whose name only starts
  // with "g", and names holding LIKE's wildcards.
  const subscriptions = ['g#1', 'g#0', 'g', 'g2#0', 'a_b%#0', 'axb%#0'];

  beforeAll(async () => {
    admin = createSqlExecutor(url);
    await migrate({ connection: admin, schema });
    store = new PostgresProjectionStore({ connection: admin, schema });
    for (const [index, subscription] of subscriptions.entries()) {
      await store.commitBatch(subscription, undefined, 10n, async (batch) => {
        await batch.park(parkedEventAt(subscription, BigInt(9 - index)));
        await batch.park(parkedEventAt(subscription, 10n));
      });
    }
  });

  afterAll(async () => {
    await dropSchema(admin, schema);
    await admin.close();
  });

  const listed = async (options: { name?: string; limit?: number }) =>
    (await store.listAllParked(options)).map((event) => `${event.subscriptionId}@${event.position}`);

  it('lists every subscription, by subscription and position; a name is a subscription or a whole group', async () => {
    expect(await listed({})).toEqual([
      'a_b%#0@5',
      'a_b%#0@10',
      'axb%#0@4',
      'axb%#0@10',
      'g@7',
      'g@10',
      'g#0@8',
      'g#0@10',
      'g#1@9',
      'g#1@10',
      'g2#0@6',
      'g2#0@10',
    ]);
    expect(await listed({ name: 'g' })).toEqual(['g@7', 'g@10', 'g#0@8', 'g#0@10', 'g#1@9', 'g#1@10']);
    expect(await listed({ name: 'g#1' })).toEqual(['g#1@9', 'g#1@10']);
    expect(await listed({ name: 'a_b%' })).toEqual(['a_b%#0@5', 'a_b%#0@10']);
    expect(await listed({ name: 'nobody' })).toEqual([]);
    expect(await listed({ limit: 3 })).toEqual(['a_b%#0@5', 'a_b%#0@10', 'axb%#0@4']);
  });

  it('refuses a limit that is not a positive whole number, before any query', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(store.listAllParked({ limit })).rejects.toThrow(/limit.*positive whole number/);
    }
  });
});
