import { PGlite } from '@electric-sql/pglite';
import { ExpectedVersion, isStoreClosedError, type StoredEvent } from '@es/core';
import { Projection } from '@es/replay';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { SqlSession } from '../connection/sql-executor.js';
import { PostgresEventStore } from '../events/postgres-event-store.js';
import {
  type AccountEvent,
  applyToReadModel,
  deposited,
  opened,
  readModelDdl,
} from '../testing/projection-read-model.js';
import { PostgresProjectionStore } from './postgres-projection-store.js';

jest.setTimeout(60_000);

// The embedded database: one session, so this checks atomicity, not concurrency (see *.int.test.ts).
describe('PostgresProjectionStore on PGlite: exactly-once', () => {
  const db = new PGlite();
  const schema = 'public';
  let eventStore: PostgresEventStore;
  let positions: bigint[];

  beforeAll(async () => {
    eventStore = new PostgresEventStore({ connection: db });
    await eventStore.migrate();
    await db.exec(readModelDdl(schema) + readModelDdl(schema, '_clean'));
    for (let s = 0; s < 10; s++) {
      await eventStore.appendEvents(`acc-${s}`, ExpectedVersion.NoStream, [
        opened(),
        deposited(s),
        deposited(2),
      ]);
    }
    const rows = await db.query<{ position: number | bigint }>(
      'SELECT position FROM events ORDER BY position',
    );
    positions = rows.rows.map((row) => BigInt(row.position));
  });

  afterAll(async () => {
    await eventStore.close();
    await db.close();
  });

  const handled = async (suffix = '') =>
    (
      await db.query<{ position: number | bigint }>(`SELECT position FROM handled${suffix} ORDER BY seq`)
    ).rows.map((row) => BigInt(row.position));

  it('a crash rolls the batch in progress back; the restart builds the clean run’s read model', async () => {
    const store = new PostgresProjectionStore({ connection: db });
    const clean = new Projection<AccountEvent, SqlSession>({
      name: 'clean',
      eventStore,
      readModel: store,
      handler: (event, sql) => applyToReadModel(sql, schema, event, '_clean'),
    });
    clean.start();
    await clean.waitForPosition(positions[29]!);
    await clean.stop();

    const crash = new AbortController();
    let calls = 0;
    const victim = new Projection<AccountEvent, SqlSession>({
      name: 'victim',
      eventStore,
      readModel: store,
      batchSize: 8,
      signal: crash.signal,
      handler: async (event: StoredEvent<AccountEvent>, sql: SqlSession) => {
        await applyToReadModel(sql, schema, event);
        if (++calls === 13) crash.abort(new Error('killed'));
      },
    });
    const died = new Promise((resolve) => crash.signal.addEventListener('abort', resolve));
    victim.start();
    await died;
    await victim.stop();
    expect(await handled()).toEqual(positions.slice(0, 8));
    expect(await store.load('victim')).toBe(positions[7]);

    const restarted = new Projection<AccountEvent, SqlSession>({
      name: 'victim',
      eventStore,
      readModel: store,
      batchSize: 8,
      handler: (event, sql) => applyToReadModel(sql, schema, event),
    });
    restarted.start();
    await restarted.waitForPosition(positions[29]!);
    await restarted.stop();
    expect(await handled()).toEqual(positions);
    const balances = async (suffix: string) =>
      (await db.query(`SELECT stream_id, balance, version FROM balances${suffix} ORDER BY stream_id`)).rows;
    expect(await balances('')).toEqual(await balances('_clean'));
  });

  it('parks a poison event in the batch transaction and undoes its partial writes', async () => {
    const store = new PostgresProjectionStore({ connection: db });
    await db.exec(readModelDdl(schema, '_poison'));
    const projection = new Projection<AccountEvent, SqlSession>({
      name: 'poison',
      eventStore,
      readModel: store,
      batchSize: 7,
      retry: { maxAttempts: 2, backoff: { initialDelayMs: 1 } },
      handler: async (event, sql) => {
        await applyToReadModel(sql, schema, event, '_poison');
        if (event.position === positions[4]) throw new Error('bad event');
      },
    });
    projection.start();
    await projection.waitForPosition(positions[29]!);
    await projection.stop();
    expect(await handled('_poison')).toEqual(positions.filter((p) => p !== positions[4]));
    const parked = await store.listParked('poison');
    expect(parked.map((p) => [p.position, p.error, p.attempts])).toEqual([
      [positions[4], 'Error: bad event', 2],
    ]);
    await store.removeParked('poison', positions[4]!);
    expect(await store.listParked('poison')).toEqual([]);
  });
  it('stops with StoreClosedError, instead of retrying forever, when its projection store is closed', async () => {
    const store = new PostgresProjectionStore({ connection: db });
    const errors: unknown[] = [];
    const projection = new Projection<AccountEvent, SqlSession>({
      name: 'closed-under-it',
      eventStore,
      readModel: store,
      pollIntervalMs: 20,
      handler: (event: StoredEvent<AccountEvent>, sql: SqlSession) =>
        applyToReadModel(sql, schema, event, '_closed'),
      onError: (error) => void errors.push(error),
    });
    await db.exec(readModelDdl(schema, '_closed'));
    projection.start();
    await projection.waitForIdle();
    await store.close();
    const { lastPosition } = await eventStore.appendEvents('after-close', ExpectedVersion.NoStream, [
      opened(),
    ]);
    const outcome = await projection.waitForPosition(lastPosition).catch((error: unknown) => error);
    expect(isStoreClosedError(outcome)).toBe(true);
    expect(isStoreClosedError(projection.failure)).toBe(true);
    // Told once, then stopped: no retry loop.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(errors).toHaveLength(1);
    await projection.stop();
  });
});
