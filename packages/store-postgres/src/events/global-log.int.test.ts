import { ExpectedVersion, type StoredEvent } from '@es/core';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../connection/connection.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

async function readAll(store: PostgresEventStore, from = 0n): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of store.getAllEvents(from, { batchSize: 2 })) events.push(event);
  return events;
}

// Other tests share this server, and their open write transactions hide newer events from every
// follower for a while (that is the mechanism at work). So a test that needs an event visible
// waits for it, with a deadline, instead of expecting it on the first read.
async function readUntilVisible(
  store: PostgresEventStore,
  from: bigint,
  position: bigint,
): Promise<StoredEvent[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const events = await readAll(store, from);
    if (events.some((event) => event.position >= position) || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function lastPositionOf(store: PostgresEventStore, streamId: string): Promise<bigint> {
  const events = await store.getEvents(streamId);
  return events[events.length - 1]!.position;
}

// Invariant 3 with the commit order forced: a transaction that started writing first commits last.
describeWithService('global log on a server: commits out of position order', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;
  let store: PostgresEventStore;
  const schema = uniqueSchema();

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: url, max: 4 });
    await migrate({ connection: pool, schema });
    store = new PostgresEventStore({ connection: pool, schema });
  });

  afterAll(async () => {
    await dropSchema(createSqlExecutor(pool), schema);
    await pool.end();
  });

  it('hides a later commit until every older writer has finished, then returns both in order', async () => {
    const first = await store.appendEvents('before', ExpectedVersion.NoStream, [
      { type: 'Opened', data: {} },
    ]);
    const [before] = await readUntilVisible(store, 0n, first.lastPosition);
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      // The slow writer takes its transaction id (and so its positions) first, and holds it.
      await slow.query(`SELECT * FROM "${schema}".events_append($1, 0, false, $2::jsonb, true)`, [
        'slow',
        JSON.stringify([{ id: crypto.randomUUID(), type: 'Opened', sv: 1, data: {}, meta: {} }]),
      ]);
      const fast = await store.appendEvents('fast', ExpectedVersion.NoStream, [{ type: 'Opened', data: {} }]);

      // Committed, and readable on its stream at once...
      expect((await store.getEvents('fast')).map((e) => e.position)).toEqual([fast.lastPosition]);
      // ...but not yet in the global log: a follower that took it would skip 'slow'.
      expect(await readAll(store, before!.position)).toEqual([]);
      expect(await store.getEventsByType('Opened', undefined, { afterPosition: before!.position })).toEqual(
        [],
      );

      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    const after = await readUntilVisible(store, before!.position, await lastPositionOf(store, 'fast'));
    expect(after.map((e) => e.streamId)).toEqual(['slow', 'fast']);
    expect(after[0]!.position < after[1]!.position).toBe(true);
  });

  it('is not held back by a long transaction that only reads', async () => {
    const reader = await pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM "${schema}".events`);
      const { lastPosition } = await store.appendEvents('while-reading', ExpectedVersion.NoStream, [
        { type: 'Opened', data: {} },
      ]);
      // Visible while the reading transaction is still open (it holds no transaction id).
      const all = await readUntilVisible(store, 0n, lastPosition);
      expect(all[all.length - 1]!.position).toBe(lastPosition);
      await reader.query('COMMIT');
    } finally {
      reader.release();
    }
  });
});
