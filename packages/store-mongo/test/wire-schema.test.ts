import { afterEach, describe, expect, it } from '@jest/globals';
import { type Document, Int32, Long, MongoClient } from 'mongodb';
import { MongoEventStore } from '../src/events/mongo-event-store.js';
import { migrate } from '../src/schema/migrate.js';
import { MONGO_MIGRATIONS } from '../src/schema/migrations.js';
import { type FakeMongoServer, startFakeMongoServer } from './fake-mongo-server.js';

// migrate() through the real driver against the scripted wire stand-in (NOT a MongoDB).

describe('migrate on the wire (scripted fake server, not MongoDB)', () => {
  let fake: FakeMongoServer | undefined;
  let store: MongoEventStore | undefined;
  afterEach(async () => {
    await store?.close();
    await fake?.close();
  });

  it('creates collections, indexes and the counter, records each migration, then skips applied ones', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ connection: fake.uri, collection: 'orders' });
    const report = await store.migrate();
    expect(report).toEqual({
      applied: ['orders#1', 'orders_positions#2', 'orders#5', 'orders#8'],
      alreadyApplied: [],
    });
    const ops = fake.operations();
    const createIndexes = ops.filter((op) => op.name === 'createIndexes');
    expect(createIndexes.map((op) => op.body.createIndexes)).toEqual(['orders', 'orders', 'orders']);
    expect(
      createIndexes.flatMap((op) =>
        (op.body.indexes as Document[]).map((index) => [index.name, index.unique ?? false]),
      ),
    ).toEqual([
      ['stream_version', true],
      ['stream_event_id', true],
      ['type_position', false],
      ['event_id', false],
      ['tags_position', false],
    ]);
    const tagsIndex = createIndexes.flatMap((op) => op.body.indexes as Document[]).at(-1);
    expect(tagsIndex?.key).toEqual({ tags: new Int32(1), _id: new Int32(1) });
    expect(ops.filter((op) => op.name === 'create').map((op) => op.body.create)).toEqual([
      'orders',
      'orders_positions',
      'orders',
      'orders',
    ]);
    const updates = ops.filter((op) => op.name === 'update').flatMap((op) => op.body.updates as Document[]);
    const seed = updates.find((update) => update.u.$setOnInsert);
    expect(seed).toMatchObject({ q: { _id: { $eq: 'position' } }, upsert: true });
    expect(seed!.u.$setOnInsert.value).toEqual(Long.fromNumber(0));
    const records = updates.filter(
      (update) => typeof update.q._id?.$eq === 'string' && update.q._id.$eq.includes('#'),
    );
    expect(records.map((record) => record.q._id.$eq)).toEqual([
      'orders#1',
      'orders_positions#2',
      'orders#5',
      'orders#8',
    ]);

    // Second run: the records say all four are applied with the same checksum.
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
    const again = await store.migrate();
    expect(again).toEqual({
      applied: [],
      alreadyApplied: ['orders#1', 'orders_positions#2', 'orders#5', 'orders#8'],
    });
    expect(fake.operations().map((op) => op.name)).toEqual(['find', 'find', 'find', 'find']);
  });

  it('explains an index that conflicts with a migration', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ connection: fake.uri });
    fake.respond = ({ name }) =>
      name === 'createIndexes'
        ? {
            ok: 0,
            code: 86,
            codeName: 'IndexKeySpecsConflict',
            errmsg: 'An existing index has the same name',
          }
        : undefined;
    await expect(store.migrate()).rejects.toThrow(/conflicts with migration 1/);
  });

  it("migrate({ connection, database, collections }) prepares every store's collections and reports them", async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    const report = await migrate({
      connection: fake.uri,
      database: 'shop',
      collections: { events: 'orders', checkpoints: 'marks' },
    });
    expect(report).toEqual({
      applied: [
        'orders#1',
        'orders_positions#2',
        'snapshots#3',
        'marks#4',
        'orders#5',
        'consumer_groups#6',
        'parked_events#7',
        'orders#8',
      ],
      alreadyApplied: [],
    });
    const creates = fake.operations().filter((op) => op.name === 'create');
    expect(creates.map((op) => `${op.body.$db}.${op.body.create}`)).toEqual([
      'shop.orders',
      'shop.orders_positions',
      'shop.snapshots',
      'shop.marks',
      'shop.orders',
      'shop.consumer_groups',
      'shop.parked_events',
      'shop.orders',
    ]);
  });

  it('migrate() closes the client it opened from a URL, never one it was given', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    const client = new MongoClient(fake.uri);
    try {
      await migrate({ connection: client });
      // The given client still works.
      await client.db('es').command({ ping: 1 });
    } finally {
      await client.close();
    }
    await expect(migrate({ connection: 42 as never })).rejects.toThrow(
      /MongoClient .* or a connection string/,
    );
    await expect(migrate({ connection: fake.uri, collections: { events: 'system.x' } })).rejects.toThrow(
      /collections\.events/,
    );
  });
});
