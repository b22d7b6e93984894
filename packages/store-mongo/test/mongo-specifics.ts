import { randomUUID } from 'node:crypto';
import { ExpectedVersion, isEventStoreUnavailableError, type StoredEvent } from '@es/core';
import { prepareEventQuery } from '@es/core/adapter';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Decimal128, Double, Int32, Long, MongoClient } from 'mongodb';
import { POSITION_COUNTER_ID } from '../src/events/append.js';
import {
  byTypeFilter,
  eventQueryFilter,
  globalLogFilter,
  TAGS_POSITION_INDEX,
  TYPE_POSITION_INDEX,
} from '../src/events/filters.js';
import { MongoEventStore } from '../src/events/mongo-event-store.js';
import { MIGRATIONS_COLLECTION } from '../src/schema/schema.js';
import type { MongoFixture } from './mongo-fixture.js';

// What the contract cannot see: indexes and plans, the counter, documents written by other tools.
export function mongoSpecifics(mongo: MongoFixture): void {
  describe('MongoEventStore on the server', () => {
    const opened: MongoEventStore[] = [];
    const open = (collection = mongo.unique('events')) => {
      const store = new MongoEventStore({
        connection: mongo.client(),
        database: mongo.database,
        collection,
        autoMigrate: true,
      });
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) {
        await mongo.drop(store.collectionName, `${store.collectionName}_positions`);
      }
    });
    const db = () => mongo.client().db(mongo.database);
    const readAll = async (store: MongoEventStore) => {
      const events: StoredEvent[] = [];
      for await (const event of store.getAllEvents(0n, { batchSize: 3 })) events.push(event);
      return events;
    };

    it('migrate creates the indexes and the counter, records each migration, and is idempotent', async () => {
      const store = open();
      const name = store.collectionName;
      const first = await store.migrate();
      expect(first).toEqual({
        applied: [`${name}#1`, `${name}_positions#2`, `${name}#5`, `${name}#8`],
        alreadyApplied: [],
      });
      const again = await Promise.all([store.migrate(), store.migrate()]);
      for (const report of again) expect(report.applied).toEqual([]);
      const indexes = await db().collection(store.collectionName).indexes();
      expect(indexes.find((index) => index.name === 'stream_version')).toMatchObject({
        key: { streamId: 1, version: 1 },
        unique: true,
      });
      expect(indexes.find((index) => index.name === 'stream_event_id')?.unique).toBe(true);
      expect(indexes.find((index) => index.name === 'type_position')?.key).toEqual({ type: 1, _id: 1 });
      expect(indexes.find((index) => index.name === 'tags_position')?.key).toEqual({ tags: 1, _id: 1 });
      const counter = await db()
        .collection(`${store.collectionName}_positions`)
        .findOne({ _id: POSITION_COUNTER_ID as never }, { promoteLongs: false });
      expect(counter?.value).toEqual(Long.fromNumber(0));
      const records = await db()
        .collection(MIGRATIONS_COLLECTION)
        .countDocuments({ collection: { $in: [store.collectionName, `${store.collectionName}_positions`] } });
      expect(records).toBe(4);
    });

    it('looks up only caller-chosen ids: a store-made id may be chosen in another stream, a chosen one may not', async () => {
      const store = open();
      const [made] = await (async () => {
        const stream = `made-${randomUUID()}`;
        await store.appendEvents(stream, ExpectedVersion.NoStream, [{ type: 'A', data: {} }]);
        return store.getEvents(stream);
      })();
      const stored = await db().collection(store.collectionName).findOne({ eventId: made!.eventId });
      expect(stored?.idSupplied).toBe(false);
      // As in PostgreSQL and memory: the store-made id is not tracked.
      await store.appendEvents(`other-${randomUUID()}`, ExpectedVersion.NoStream, [
        { type: 'A', data: {}, eventId: made!.eventId },
      ]);
      const chosen = randomUUID();
      await store.appendEvents(`chosen-${randomUUID()}`, ExpectedVersion.NoStream, [
        { type: 'A', data: {}, eventId: chosen },
      ]);
      await expect(
        store.appendEvents(`elsewhere-${randomUUID()}`, ExpectedVersion.NoStream, [
          { type: 'A', data: {}, eventId: chosen },
        ]),
      ).rejects.toThrow(/already stored in another stream/);
    });

    it('allocates positions 1..N without gaps, even after refused appends', async () => {
      const store = open();
      const a = `a-${randomUUID()}`;
      await store.appendEvents(a, ExpectedVersion.NoStream, [{ type: 'A', data: {} }]);
      await expect(
        store.appendEvents(a, ExpectedVersion.NoStream, [{ type: 'A', data: {} }]),
      ).rejects.toThrow();
      await store.appendEvents(`b-${randomUUID()}`, 0, [
        { type: 'B', data: {} },
        { type: 'B', data: {} },
      ]);
      expect((await readAll(store)).map((event) => event.position)).toEqual([1n, 2n, 3n]);
    });

    it('reads by type are index ranges on type_position, the global log on _id: no scan, no sort', async () => {
      const store = open();
      for (let i = 0; i < 20; i++) {
        await store.appendEvents(`s-${randomUUID()}`, ExpectedVersion.Any, [
          { type: i % 5 === 0 ? 'Rare' : 'Common', data: {} },
        ]);
      }
      const events = db().collection(store.collectionName);
      // The same filter, sort and hint as the store's queries.
      const plan = async (filter: object, hint?: string) => {
        const cursor = events.find(filter).sort({ _id: 1 }).limit(7);
        if (hint) cursor.hint(hint);
        return JSON.stringify((await cursor.explain('queryPlanner')).queryPlanner.winningPlan);
      };
      for (const winning of [
        await plan(byTypeFilter(['Rare', 'Other'], new Date(0), 0n), TYPE_POSITION_INDEX),
        await plan(globalLogFilter(0n, undefined, ['Rare']), TYPE_POSITION_INDEX),
      ]) {
        expect(winning).toContain('type_position');
        expect(winning).not.toContain('COLLSCAN');
        expect(winning).not.toContain('"stage":"SORT"');
      }
      const log = await plan(globalLogFilter(5n));
      expect(log).toContain('_id_');
      expect(log).not.toContain('"stage":"SORT"');
      expect((await store.getEventsByType('Rare')).length).toBe(4);
    });

    it('a query item with tags is an index range on tags_position, in position order', async () => {
      const store = open();
      // One batch of 100 events at positions 1..100, 4 of them rare: a scan would read them all.
      await store.append(
        Array.from({ length: 100 }, (_, i) => ({
          type: 'T',
          data: {},
          tags: [i % 25 === 0 ? 'rare' : 'common', `n:${i}`],
        })),
      );
      const events = db().collection(store.collectionName);
      const query = prepareEventQuery({
        items: [{ tags: ['rare'] }, { eventTypes: ['T'], tags: ['rare', 'n:50'] }],
      });
      // The same filter and sort as the store's read.
      const filter: object = eventQueryFilter(query, 0n, 100n);
      const cursor = events.find(filter).sort({ _id: 1 }).limit(7);
      const winning = JSON.stringify((await cursor.explain('queryPlanner')).queryPlanner.winningPlan);
      expect(winning).toContain(TAGS_POSITION_INDEX);
      expect(winning).not.toContain('COLLSCAN');
      const read = await store.read({ items: [{ tags: ['rare'] }] });
      expect(read.events.map((event) => event.position)).toEqual([1n, 26n, 51n, 76n]);
      expect(read.position).toBe(100n);
    });

    it('documents written before tags existed read as untagged and match their stream id as a tag', async () => {
      const store = open();
      await store.migrate();
      const streamId = `legacy-${randomUUID()}`;
      await db()
        .collection(store.collectionName)
        .insertOne({
          _id: Long.fromNumber(1) as never,
          streamId,
          version: new Int32(1),
          eventId: randomUUID(),
          type: 'Legacy',
          schemaVersion: new Int32(1),
          data: '{}',
          metadata: '{}',
          timestamp: new Date(),
        });
      await db()
        .collection(`${store.collectionName}_positions`)
        .updateOne({ _id: POSITION_COUNTER_ID as never }, { $set: { value: Long.fromNumber(1) } });
      const read = await store.read({ items: [{ tags: [streamId] }] });
      expect(read.events.map((event) => [event.position, event.tags])).toEqual([[1n, []]]);
      expect(read.position).toBe(1n);
      await expect(
        store.append([{ type: 'New', data: {} }], {
          condition: { failIfEventsMatch: { items: [{ tags: [streamId] }] } },
        }),
      ).rejects.toThrow(/Append condition failed/);
    });

    it('reads documents whose numbers have other BSON widths, and appends after them', async () => {
      const store = open();
      await store.migrate();
      const streamId = `legacy-${randomUUID()}`;
      const at = new Date('2020-01-01T00:00:00Z');
      await db()
        .collection(store.collectionName)
        .insertMany([
          {
            _id: new Double(1) as never,
            streamId,
            version: new Int32(1),
            eventId: randomUUID(),
            type: 'Legacy',
            schemaVersion: new Double(1),
            data: { amount: Decimal128.fromString('12.50'), count: Long.fromNumber(3) },
            metadata: {},
            timestamp: at,
          },
          {
            _id: Long.fromNumber(2) as never,
            streamId,
            version: Long.fromNumber(2),
            eventId: randomUUID(),
            type: 'Legacy',
            schemaVersion: Decimal128.fromString('2'),
            data: { wide: Long.fromBigInt(2n ** 60n) },
            metadata: { correlationId: 'c' },
            timestamp: at,
          },
        ]);
      await db()
        .collection(`${store.collectionName}_positions`)
        .updateOne({ _id: POSITION_COUNTER_ID as never }, { $set: { value: Long.fromNumber(2) } });
      const events = await store.getEvents(streamId);
      expect(events.map((e) => [e.version, e.position, e.schemaVersion, e.data])).toEqual([
        [1, 1n, 1, { amount: 12.5, count: 3 }],
        [2, 2n, 2, { wide: 2n ** 60n }],
      ]);
      expect(await store.getStreamVersion(streamId)).toBe(2);
      const result = await store.appendEvents(streamId, 2, [{ type: 'New', data: {} }]);
      expect(result).toEqual({ nextVersion: 3, lastPosition: 3n });
    });

    it('wakes a subscriber soon after another client appends (change stream)', async () => {
      const reader = open();
      await reader.migrate();
      let woken = 0;
      const subscription = await reader.subscribeToAppends(() => woken++);
      const otherClient = new MongoClient(mongo.url);
      const writer = new MongoEventStore({
        connection: otherClient,
        database: mongo.database,
        collection: reader.collectionName,
      });
      try {
        // The change stream opens lazily; keep appending (bounded) until the first wake-up.
        for (let attempt = 0; attempt < 40 && woken === 0; attempt++) {
          await writer.appendEvents(`w-${randomUUID()}`, ExpectedVersion.NoStream, [{ type: 'A', data: {} }]);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        expect(woken).toBeGreaterThan(0);
      } finally {
        await subscription.close();
        await otherClient.close();
      }
    });

    it('a counter behind the log fails the append clearly instead of overwriting or skipping', async () => {
      const store = open();
      await store.appendEvents(`s-${randomUUID()}`, ExpectedVersion.Any, [{ type: 'A', data: {} }]);
      await db()
        .collection(`${store.collectionName}_positions`)
        .updateOne({ _id: POSITION_COUNTER_ID as never }, { $set: { value: Long.fromNumber(0) } });
      const error = await store
        .appendEvents(`t-${randomUUID()}`, ExpectedVersion.Any, [{ type: 'A', data: {} }])
        .catch((e: unknown) => e);
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect((error as Error).message).toContain('counter');
      expect(await readAll(store)).toHaveLength(1);
    });
  });
}
