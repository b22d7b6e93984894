import { afterEach, describe, expect, it } from '@jest/globals';
import { type Document, Long } from 'mongodb';
import { MONGO_MIGRATIONS } from '../src/migrations.js';
import { MongoEventStore } from '../src/mongo-event-store.js';
import { type FakeMongoServer, startFakeMongoServer } from './fake-mongo-server.js';

// ensureSchema through the real driver against the scripted wire stand-in (NOT a MongoDB).

describe('ensureSchema on the wire (scripted fake server, not MongoDB)', () => {
  let fake: FakeMongoServer | undefined;
  let store: MongoEventStore | undefined;
  afterEach(async () => {
    await store?.close();
    await fake?.close();
  });

  it('creates collections, indexes and the counter, records each migration, then skips applied ones', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ uri: fake.uri, collection: 'orders', ensureSchema: false });
    const outcomes = await store.ensureSchema();
    expect(outcomes).toEqual([
      { version: 1, collection: 'orders', applied: true },
      { version: 2, collection: 'orders_positions', applied: true },
      { version: 5, collection: 'orders', applied: true },
    ]);
    const ops = fake.operations();
    const createIndexes = ops.filter((op) => op.name === 'createIndexes');
    expect(createIndexes.map((op) => op.body.createIndexes)).toEqual(['orders', 'orders']);
    expect(
      createIndexes.flatMap((op) =>
        (op.body.indexes as Document[]).map((index) => [index.name, index.unique ?? false]),
      ),
    ).toEqual([
      ['stream_version', true],
      ['stream_event_id', true],
      ['type_position', false],
      ['event_id', false],
    ]);
    expect(ops.filter((op) => op.name === 'create').map((op) => op.body.create)).toEqual([
      'orders',
      'orders_positions',
      'orders',
    ]);
    const updates = ops.filter((op) => op.name === 'update').flatMap((op) => op.body.updates as Document[]);
    const seed = updates.find((update) => update.u.$setOnInsert);
    expect(seed).toMatchObject({ q: { _id: { $eq: 'position' } }, upsert: true });
    expect(seed!.u.$setOnInsert.value).toEqual(Long.fromNumber(0));
    const records = updates.filter(
      (update) => typeof update.q._id?.$eq === 'string' && update.q._id.$eq.includes('#'),
    );
    expect(records.map((record) => record.q._id.$eq)).toEqual(['orders#1', 'orders_positions#2', 'orders#5']);

    // Second run: the records say all three are applied with the same checksum.
    fake.commands.length = 0;
    fake.respond = ({ name, body }) => {
      if (name !== 'find' || body.find !== 'es_schema_migrations') return undefined;
      const id = body.filter._id.$eq as string;
      const migration = MONGO_MIGRATIONS[Number(id.split('#')[1]) - 1]!;
      return {
        ok: 1,
        cursor: {
          id: Long.fromNumber(0),
          ns: 'es.x',
          firstBatch: [{ _id: id, checksum: migration.checksum }],
        },
      };
    };
    const again = await store.ensureSchema();
    expect(again.every((outcome) => !outcome.applied)).toBe(true);
    expect(fake.operations().map((op) => op.name)).toEqual(['find', 'find', 'find']);
  });

  it('explains an index that conflicts with a migration', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ uri: fake.uri, ensureSchema: false });
    fake.respond = ({ name }) =>
      name === 'createIndexes'
        ? {
            ok: 0,
            code: 86,
            codeName: 'IndexKeySpecsConflict',
            errmsg: 'An existing index has the same name',
          }
        : undefined;
    await expect(store.ensureSchema()).rejects.toThrow(/conflicts with migration 1/);
  });
});
