import { PGlite } from '@electric-sql/pglite';
import { ExpectedVersion, type NewEvent, type StoredEvent } from '@es/core';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../connection/connection.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

const EVENTS: NewEvent[] = [
  {
    type: 'Opened',
    data: { owner: 'ada', nested: { list: [1, 'two', null] } },
    metadata: { correlationId: 'c-1', causationId: 'm-1', extra: { deep: [true] } },
    tags: ['account:a1', 'owner:ada', 'with, comma', 'with "quote"'],
  },
  { type: 'Deposited', data: { amount: 5 } },
  { type: 'Deposited', data: { amount: 7 }, metadata: { correlationId: 'c-1' } },
  { type: 'Deposited', data: { amount: 9 }, tags: ['account:a1'] },
];

async function readAll(store: PostgresEventStore): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of store.getAllEvents(0n, { batchSize: 2 })) events.push(event);
  return events;
}

// Every read of the store returns the same events, field for field, and each is a plain object
// whose fields spread, JSON and structuredClone all see.
async function expectSameOnEveryRead(store: PostgresEventStore, expected: readonly StoredEvent[]) {
  const reads = [
    await store.getEvents('account-1'),
    await readAll(store),
    await store.getEventsByType(['Opened', 'Deposited']),
    (await store.read({ items: [{ tags: ['account-1'] }] })).events,
  ];
  for (const events of reads) {
    expect(events).toStrictEqual(expected);
    for (const event of events) {
      expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
      expect({ ...event }).toStrictEqual(event);
      expect(structuredClone(event)).toStrictEqual(event);
      expect(typeof event.position).toBe('bigint');
    }
  }
  // Fresh values per event and per read: changing one read's event changes nothing else.
  const [first] = reads[0]!;
  (first!.metadata as Record<string, unknown>).changed = true;
  (first!.tags as string[]).push('changed');
  first!.timestamp.setTime(0);
  expect(await store.getEvents('account-1')).toStrictEqual(expected);
  const [, second, third] = reads[1]!;
  expect(second!.timestamp).not.toBe(third!.timestamp);
  expect(second!.metadata).not.toBe(reads[2]![1]!.metadata);
}

async function visible(store: PostgresEventStore, position: bigint): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if ((await readAll(store)).some((event) => event.position === position)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeWithService('event reads on a server: fields as the driver decodes them', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;
  let store: PostgresEventStore;
  const schema = uniqueSchema();

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: url, max: 2 });
    await migrate({ connection: pool, schema });
    store = new PostgresEventStore({ connection: pool, schema, notify: false });
  });

  afterAll(async () => {
    await store.close();
    await dropSchema(createSqlExecutor(pool), schema);
    await pool.end();
  });

  it('returns what the driver makes of every column', async () => {
    const { lastPosition } = await store.appendEvents('account-1', ExpectedVersion.NoStream, EVENTS);
    await visible(store, lastPosition);
    // The driver's own parsers on the same rows (object rows, default types): the eager decoding.
    const { rows } = await pool.query(
      `SELECT event_id, stream_id, version, position, type, schema_version, data, metadata, created_at, tags
       FROM "${schema}".events ORDER BY position`,
    );
    const expected = rows.map((row) => ({
      eventId: row.event_id,
      streamId: row.stream_id,
      version: row.version,
      position: BigInt(row.position),
      type: row.type,
      schemaVersion: row.schema_version,
      data: row.data,
      metadata: row.metadata,
      timestamp: row.created_at,
      tags: row.tags,
    })) as StoredEvent[];
    expect(expected[0]!.metadata).toEqual(EVENTS[0]!.metadata);
    expect(expected[0]!.tags).toEqual(EVENTS[0]!.tags);
    expect(expected[1]!.metadata).toEqual({});
    expect(expected[1]!.tags).toEqual([]);
    // To the microsecond, as stored: the server's value and the Date read agree to the millisecond.
    const { rows: micros } = await pool.query<{ micros: string }>(
      `SELECT (extract(epoch FROM created_at) * 1000000)::bigint::text AS micros FROM "${schema}".events ORDER BY position`,
    );
    expect(micros.map((row) => BigInt(row.micros) / 1000n)).toEqual(
      expected.map((event) => BigInt(event.timestamp.getTime())),
    );
    await expectSameOnEveryRead(store, expected);
  });
});

describe('event reads on PGlite: fields as the driver decodes them', () => {
  let db: PGlite;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = new PGlite();
    await migrate({ connection: db });
    store = new PostgresEventStore({ connection: db });
  });

  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('returns the same events from every read', async () => {
    await store.appendEvents('account-1', ExpectedVersion.NoStream, EVENTS);
    const expected = await readAll(store);
    expect(expected.map((event) => event.metadata)).toEqual(EVENTS.map((event) => event.metadata ?? {}));
    expect(expected.map((event) => event.tags)).toEqual(EVENTS.map((event) => event.tags ?? []));
    expect(expected.every((event) => event.streamId === 'account-1')).toBe(true);
    await expectSameOnEveryRead(store, expected);
  });
});
