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
    expect(lookup?.body.filter).toEqual({ eventId: { $in: [eventId] }, idSupplied: { $ne: false } });
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

// The stored documents the id lookup can find, filtered as a server would for the operators the
// lookup may use, so that what the store asks for decides what it finds.
function matches(document: Document, filter: Document): boolean {
  return Object.entries(filter).every(([field, condition]) => {
    if (field === '$or') return (condition as Document[]).some((branch) => matches(document, branch));
    if (field === '$and') return (condition as Document[]).every((branch) => matches(document, branch));
    const value = document[field];
    const isOperator = condition !== null && typeof condition === 'object' && !Array.isArray(condition);
    if (!isOperator || !Object.keys(condition).every((key) => key.startsWith('$')))
      return value === condition;
    return Object.entries(condition as Document).every(([operator, operand]) => {
      if (operator === '$eq') return value === operand;
      if (operator === '$ne') return value !== operand;
      if (operator === '$in') return (operand as unknown[]).includes(value);
      if (operator === '$exists') return (value !== undefined) === operand;
      throw new Error(`the test's matcher does not know ${operator}`);
    });
  });
}

describe('MongoEventStore: only caller-chosen ids are looked up, as PostgreSQL and memory do', () => {
  let fake: FakeMongoServer | undefined;
  let store: MongoEventStore | undefined;
  afterEach(async () => {
    await store?.close();
    await fake?.close();
    store = undefined;
    fake = undefined;
  });
  const serve = (fake: FakeMongoServer, stored: Document[]) => {
    fake.respond = ({ name, body }) => {
      if (name === 'findAndModify') {
        return { ok: 1, value: { _id: 'position', value: Long.fromNumber(20), at: new Date() } };
      }
      if (name !== 'find') return undefined;
      return cursor(body.filter?.eventId ? stored.filter((document) => matches(document, body.filter)) : []);
    };
  };

  it('an id the store made for an event of another stream is not taken: the caller may choose it', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ connection: fake.uri });
    const eventId = randomUUID();
    serve(fake, [
      { _id: Long.fromNumber(4), streamId: 'other', eventId, version: new Int32(1), idSupplied: false },
    ]);
    const result = await store.appendEvents('mine', ExpectedVersion.NoStream, [
      { type: 'A', data: {}, eventId },
    ]);
    expect(result).toEqual({ nextVersion: 1, lastPosition: 20n });
    const insert = fake.operations().find((op) => op.name === 'insert');
    expect((insert!.body.documents as Document[]).map((d) => [d.eventId, d.idSupplied])).toEqual([
      [eventId, true],
    ]);
  });

  it('an id stored before the field existed counts as chosen by a caller: another stream is a conflict', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ connection: fake.uri });
    const eventId = randomUUID();
    serve(fake, [{ _id: Long.fromNumber(4), streamId: 'other', eventId, version: new Int32(1) }]);
    const error = await store
      .appendEvents('mine', ExpectedVersion.NoStream, [{ type: 'A', data: {}, eventId }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyConflictError);
    expect(fake.operations().map((op) => op.name)).not.toContain('insert');
  });

  it('records whether the batch carried caller-chosen ids; a batch without them looks nothing up', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ connection: fake.uri });
    serve(fake, []);
    await store.appendEvents('mine', ExpectedVersion.NoStream, [{ type: 'A', data: {} }]);
    // As PostgreSQL and memory keep them: the whole batch of an append that chose ids.
    await store.appendEvents('mine', ExpectedVersion.Any, [
      { type: 'B', data: {}, eventId: randomUUID() },
      { type: 'C', data: {} },
    ]);
    const operations = fake.operations();
    expect(operations.filter((op) => op.name === 'find' && op.body.filter?.eventId)).toHaveLength(1);
    const inserted = operations
      .filter((op) => op.name === 'insert')
      .flatMap((op) => (op.body.documents as Document[]).map((d) => [d.type, d.idSupplied]));
    expect(inserted).toEqual([
      ['A', false],
      ['B', true],
      ['C', true],
    ]);
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
