import { randomUUID } from 'node:crypto';
import { ConcurrencyConflictError, ExpectedVersion, isInvalidArgumentError } from '@es/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type Document, Int32, Long } from 'mongodb';
import { MongoCheckpointStore, MongoEventStore, MongoSnapshotStore } from '../src/index.js';
import { type FakeMongoServer, startFakeMongoServer } from './fake-mongo-server.js';

// Rules every store shares (the contract's "edge values"), checked here on the wire because no
// MongoDB runs where the unit tests run: the real driver against a scripted stand-in (NOT MongoDB).

const cursor = (firstBatch: Document[]): Document => ({
  ok: 1,
  cursor: { id: Long.fromNumber(0), ns: 'es.events', firstBatch },
});

describe('MongoEventStore: caller-chosen event ids are unique across the store', () => {
  let fake: FakeMongoServer | undefined;
  let store: MongoEventStore | undefined;
  afterEach(async () => {
    await store?.close();
    await fake?.close();
    store = undefined;
    fake = undefined;
  });

  it('looks the ids up in every stream, and an id stored in another stream is a conflict', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ connection: fake.uri });
    const eventId = randomUUID();
    fake.respond = ({ name, body }) => {
      if (name !== 'find') return undefined;
      if (body.filter?.eventId) {
        return cursor([{ _id: Long.fromNumber(4), streamId: 'other', eventId, version: new Int32(1) }]);
      }
      return cursor([]);
    };
    const error = await store
      .appendEvents('mine', ExpectedVersion.NoStream, [{ type: 'A', data: {}, eventId }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyConflictError);
    expect((error as Error).message).toContain(`event id ${eventId} is already stored in another stream`);
    const operations = fake.operations();
    const lookup = operations.find((op) => op.name === 'find' && op.body.filter?.eventId);
    expect(lookup?.body.filter).toEqual({ eventId: { $in: [eventId] } });
    expect(operations.map((op) => op.name)).not.toContain('insert');
  });

  it('a copy in the same stream is still a retry that returns the original result', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ connection: fake.uri });
    const eventId = randomUUID();
    const stored = { _id: Long.fromNumber(7), streamId: 'mine', eventId, version: new Int32(1) };
    fake.respond = ({ name }) => (name === 'find' ? cursor([stored]) : undefined);
    const result = await store.appendEvents('mine', ExpectedVersion.NoStream, [
      { type: 'A', data: {}, eventId },
    ]);
    expect(result).toEqual({ nextVersion: 1, lastPosition: 7n });
    expect(fake.operations().map((op) => op.name)).not.toContain('insert');
  });
});

describe('options: left out means the default, null is refused (never the default)', () => {
  const uri = 'mongodb://127.0.0.1:9/es?serverSelectionTimeoutMS=300';
  const refusal = (make: () => unknown): unknown => {
    try {
      make();
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it.each<[string, () => unknown]>([
    [
      'MongoEventStore collection: null',
      () => new MongoEventStore({ connection: uri, collection: null as never }),
    ],
    [
      'MongoEventStore database: null',
      () => new MongoEventStore({ connection: uri, database: null as never }),
    ],
    [
      'MongoEventStore autoMigrate: null',
      () => new MongoEventStore({ connection: uri, autoMigrate: null as never }),
    ],
    [
      'MongoEventStore autoMigrate: "no"',
      () => new MongoEventStore({ connection: uri, autoMigrate: 'no' as never }),
    ],
    [
      'MongoEventStore logReadConcern: null',
      () => new MongoEventStore({ connection: uri, logReadConcern: null as never }),
    ],
    [
      'MongoSnapshotStore collection: null',
      () => new MongoSnapshotStore({ connection: uri, collection: null as never }),
    ],
    [
      'MongoSnapshotStore autoMigrate: 0',
      () => new MongoSnapshotStore({ connection: uri, autoMigrate: 0 as never }),
    ],
    [
      'MongoCheckpointStore collection: null',
      () => new MongoCheckpointStore({ connection: uri, collection: null as never }),
    ],
    [
      'MongoCheckpointStore database: null',
      () => new MongoCheckpointStore({ connection: uri, database: null as never }),
    ],
  ])('%s is InvalidArgumentError', (_, make) => {
    expect(isInvalidArgumentError(refusal(make))).toBe(true);
  });
});
