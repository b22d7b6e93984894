import { randomUUID } from 'node:crypto';
import {
  ConcurrencyConflictError,
  EventStoreUnavailableError,
  ExpectedVersion,
  isConcurrencyConflictError,
  isEventSerializationError,
  isEventStoreUnavailableError,
} from '@es/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type Document, Int32, Long } from 'mongodb';
import { MongoEventStore } from '../src/events/mongo-event-store.js';
import { type FakeMongoServer, startFakeMongoServer } from './fake-mongo-server.js';

// The real driver against a scripted wire-protocol stand-in (NOT a MongoDB; see fake-mongo-server.ts):
// which commands an append sends, inside which transaction, and how error replies come back.

const AT = new Date('2026-03-04T05:06:07.089Z');
const counterReply = (last: number): Document => ({
  ok: 1,
  value: { _id: 'position', value: Long.fromNumber(last), at: AT },
  lastErrorObject: { n: 1, updatedExisting: true },
});
const headReply = (version: number | undefined): Document => ({
  ok: 1,
  cursor: {
    id: Long.fromNumber(0),
    ns: 'es.events',
    firstBatch: version === undefined ? [] : [{ _id: Long.fromNumber(9), version: new Int32(version) }],
  },
});
const duplicateKey = (index: string): Document => ({
  ok: 1,
  n: 0,
  writeErrors: [
    {
      index: 0,
      code: 11000,
      errmsg: `E11000 duplicate key error collection: es.events index: ${index} dup key: { streamId: "s", version: 1 }`,
    },
  ],
});

describe('MongoEventStore on the wire (scripted fake server, not MongoDB)', () => {
  let fake: FakeMongoServer | undefined;
  let store: MongoEventStore | undefined;
  afterEach(async () => {
    await store?.close();
    await fake?.close();
    store = undefined;
    fake = undefined;
  });
  const open = async (replicaSet = true) => {
    fake = await startFakeMongoServer({ replicaSet });
    store = new MongoEventStore({ connection: fake.uri });
    return { fake, store };
  };

  it('refuses a standalone server before sending any write', async () => {
    const { fake, store } = await open(false);
    const error = await store
      .appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toContain('replica set');
    expect(fake.operations()).toEqual([]);
  });

  it('appends in one transaction: head read, counter increment, insert, commit', async () => {
    const { fake, store } = await open();
    fake.respond = ({ name }) => (name === 'findAndModify' ? counterReply(12) : undefined);
    const eventId = randomUUID();
    const result = await store.appendEvents('order-1', ExpectedVersion.NoStream, [
      { type: 'Placed', data: { total: 5 }, eventId },
      { type: 'Paid', data: {} },
    ]);
    expect(result).toEqual({ nextVersion: 2, lastPosition: 12n });

    const operations = fake.operations();
    expect(operations.map((op) => `${op.name}:${op.body[op.name]}`)).toEqual([
      'find:events', // stream head
      'find:events', // stored copies of the caller's event ids
      'findAndModify:events_positions',
      'insert:events',
      'commitTransaction:1',
    ]);
    const [head, , counter, insert, commit] = operations as unknown as [
      Document,
      Document,
      Document,
      Document,
      Document,
    ];
    // One transaction: same session and transaction number throughout, started by the first command.
    const lsid = JSON.stringify(head.body.lsid);
    for (const op of operations) {
      expect(JSON.stringify(op.body.lsid)).toBe(lsid);
      expect(op.body.txnNumber).toEqual(head.body.txnNumber);
      expect(op.body.autocommit).toBe(false);
    }
    expect(head.body.startTransaction).toBe(true);
    expect(head.body.readConcern).toEqual({ level: 'snapshot' });
    expect(commit.body.writeConcern).toMatchObject({ w: 'majority' });
    // The stream id is compared with $eq; the head is the highest version.
    expect(head.body.filter).toEqual({ streamId: { $eq: 'order-1' } });
    expect(head.body.sort).toEqual({ version: new Int32(-1) });
    // Positions come from a pipeline update that also reads the server clock.
    expect(counter.body.update[0].$set.at).toBe('$$NOW');
    expect(counter.body.upsert).toBe(true);
    expect(counter.body.new).toBe(true);
    // Documents: _id = Int64 position 11 and 12, versions 1 and 2, the server's time, no undefined.
    const documents = insert.body.documents as Document[];
    expect(documents.map((d) => [d._id, d.version, d.type])).toEqual([
      [Long.fromNumber(11), new Int32(1), 'Placed'],
      [Long.fromNumber(12), new Int32(2), 'Paid'],
    ]);
    expect(documents[0]!.eventId).toBe(eventId);
    expect(documents[1]!.timestamp).toEqual(AT);
    // Data and metadata travel as JSON text.
    expect(documents[0]!.data).toBe('{"total":5}');
    expect(documents[1]!.data).toBe('{}');
    expect(documents[1]!.metadata).toBe('{}');
  });

  it('round-trips data shaped like MongoDB syntax exactly, through the driver both ways', async () => {
    const { fake, store } = await open();
    const data = {
      reference: { $ref: 'users', $id: 7, note: 'kept' },
      operators: { $set: { a: 1 }, $where: 'x', 'dotted.key': true, _bsontype: 'Long', _id: 'mine' },
      ...JSON.parse('{"__proto__": {"polluted": true}}'),
    };
    const metadata = { correlationId: 'c', ref: { $ref: 'users', $id: 7, note: 'kept' } };
    let inserted: Document[] = [];
    fake.respond = ({ name, body }) => {
      if (name === 'findAndModify') return counterReply(1);
      if (name === 'insert') inserted = body.documents as Document[];
      if (name === 'find' && body.filter?.version) {
        return { ok: 1, cursor: { id: Long.fromNumber(0), ns: 'es.events', firstBatch: inserted } };
      }
      return undefined;
    };
    await store.appendEvents('s', ExpectedVersion.NoStream, [{ type: 'Payload', data, metadata }]);
    expect(inserted).toHaveLength(1);
    const [event] = await store.getEvents('s', 0);
    expect(event!.data).toEqual(data);
    expect(Object.getOwnPropertyNames(event!.data)).toContain('__proto__');
    expect(event!.metadata).toEqual(metadata);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a stale expected version inside the transaction and aborts it', async () => {
    const { fake, store } = await open();
    fake.respond = ({ name }) => (name === 'find' ? headReply(3) : undefined);
    const error = await store.appendEvents('s', 1, [{ type: 'A', data: {} }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyConflictError);
    expect(error).toMatchObject({ streamId: 's', expectedVersion: 1, actualVersion: 3 });
    const operations = fake.operations();
    const names = operations.map((op) => op.name);
    expect(names).not.toContain('insert');
    expect(names).not.toContain('commitTransaction');
    expect(names).toContain('abortTransaction');
    // The counter is written (its time only, rolled back by the abort) to prove the head current.
    const touch = operations.find((op) => op.name === 'findAndModify');
    expect(touch?.body.update).toEqual([{ $set: { at: '$$NOW' } }]);
  });

  it('retries the whole transaction on a write conflict, re-reading the head', async () => {
    const { fake, store } = await open();
    let counterCalls = 0;
    fake.respond = ({ name }) => {
      if (name !== 'findAndModify') return undefined;
      counterCalls++;
      return counterCalls === 1
        ? {
            ok: 0,
            code: 112,
            codeName: 'WriteConflict',
            errmsg: 'WriteConflict',
            errorLabels: ['TransientTransactionError'],
          }
        : counterReply(1);
    };
    const result = await store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]);
    expect(result).toEqual({ nextVersion: 1, lastPosition: 1n });
    const names = fake.operations().map((op) => op.name);
    expect(names.filter((name) => name === 'find')).toHaveLength(2);
    expect(names).toContain('abortTransaction');
    expect(names[names.length - 1]).toBe('commitTransaction');
  });

  it('maps a duplicate key on (streamId, version) to ConcurrencyConflictError with the actual version', async () => {
    const { fake, store } = await open();
    let heads = 0;
    fake.respond = ({ name }) => {
      if (name === 'find') return headReply(heads++ < 3 ? undefined : 1);
      if (name === 'findAndModify') return counterReply(1);
      if (name === 'insert') return duplicateKey('stream_version');
      return undefined;
    };
    const error = await store
      .appendEvents('s', ExpectedVersion.NoStream, [{ type: 'A', data: {} }])
      .catch((e: unknown) => e);
    expect(isConcurrencyConflictError(error)).toBe(true);
    expect(error).toMatchObject({ streamId: 's', expectedVersion: 'no_stream', actualVersion: 1 });
    expect((error as Error).message).toContain('stream_version');
    expect((error as Error).cause).toBeDefined();
    expect(fake.operations().filter((op) => op.name === 'insert')).toHaveLength(3);
  });

  it('reports a duplicate position as a counter problem, not as a conflict', async () => {
    const { fake, store } = await open();
    fake.respond = ({ name }) => {
      if (name === 'findAndModify') return counterReply(1);
      if (name === 'insert') return duplicateKey('_id_');
      return undefined;
    };
    const error = await store
      .appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toContain('counter');
  });

  it('retries a duplicate key on the position counter (two first upserts) instead of blaming the log', async () => {
    const { fake, store } = await open();
    let counterCalls = 0;
    fake.respond = ({ name }) => {
      if (name !== 'findAndModify') return undefined;
      counterCalls++;
      return counterCalls === 1
        ? {
            ok: 0,
            code: 11000,
            codeName: 'DuplicateKey',
            errmsg:
              'E11000 duplicate key error collection: es.events_positions index: _id_ dup key: { _id: "position" }',
            keyPattern: { _id: 1 },
            keyValue: { _id: 'position' },
          }
        : counterReply(1);
    };
    const result = await store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]);
    expect(result).toEqual({ nextVersion: 1, lastPosition: 1n });
    expect(counterCalls).toBe(2);
  });

  it('reports a persistent counter duplicate as unavailable, neither a conflict nor a counter behind the log', async () => {
    const { fake, store } = await open();
    fake.respond = ({ name }) =>
      name === 'findAndModify'
        ? {
            ok: 0,
            code: 11000,
            errmsg:
              'E11000 duplicate key error collection: es.events_positions index: _id_ dup key: { _id: "position" }',
          }
        : undefined;
    const error = await store
      .appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }])
      .catch((e: unknown) => e);
    expect(isEventStoreUnavailableError(error)).toBe(true);
    expect(isConcurrencyConflictError(error)).toBe(false);
    expect((error as Error).message).not.toContain('behind');
    expect(fake.operations().filter((op) => op.name === 'findAndModify')).toHaveLength(3);
    expect(fake.operations().map((op) => op.name)).not.toContain('insert');
  });

  it('refuses an event over the 16 MB document limit as EventSerializationError, sending no insert', async () => {
    const { fake, store } = await open();
    fake.respond = ({ name }) => (name === 'findAndModify' ? counterReply(1) : undefined);
    const data = { blob: 'x'.repeat(17 * 1024 * 1024) };
    const error = await store
      .appendEvents('s', ExpectedVersion.Any, [{ type: 'Huge', data }])
      .catch((e: unknown) => e);
    expect(isEventSerializationError(error)).toBe(true);
    expect(isEventStoreUnavailableError(error)).toBe(false);
    expect((error as Error).message).toContain('16 MB');
    // Refused before the transaction starts: no command at all.
    expect(fake.operations()).toEqual([]);
  });

  it('reads by type through the type_position index, in position order', async () => {
    const { fake, store } = await open();
    await store.getEventsByType(['A', 'B'], new Date(0), { afterPosition: 3n, limit: 10 });
    await store
      .getAllEvents(0n, { eventTypes: ['A'] })
      [Symbol.asyncIterator]()
      .next();
    const [byType, filtered] = fake.operations().filter((op) => op.name === 'find');
    expect(byType!.body.hint).toBe('type_position');
    expect(byType!.body.filter).toEqual({
      type: { $in: ['A', 'B'] },
      _id: { $gt: Long.fromNumber(3) },
      timestamp: { $gte: new Date(0) },
    });
    expect(byType!.body.sort).toEqual({ _id: new Int32(1) });
    expect(byType!.body.limit).toEqual(new Int32(10));
    expect(filtered!.body.hint).toBe('type_position');
  });

  it('reads the global log in keyset batches on _id', async () => {
    const { fake, store } = await open();
    const event = (position: number) => ({
      _id: Long.fromNumber(position),
      streamId: 's',
      version: new Int32(position),
      eventId: randomUUID(),
      type: 'A',
      schemaVersion: new Int32(1),
      data: {},
      metadata: {},
      timestamp: AT,
    });
    let batches = 0;
    fake.respond = ({ name }) => {
      if (name !== 'find') return undefined;
      batches++;
      const firstBatch = batches === 1 ? [event(1), event(2)] : batches === 2 ? [event(3)] : [];
      return { ok: 1, cursor: { id: Long.fromNumber(0), ns: 'es.events', firstBatch } };
    };
    const positions: bigint[] = [];
    for await (const stored of store.getAllEvents(0n, { batchSize: 2 })) positions.push(stored.position);
    expect(positions).toEqual([1n, 2n, 3n]);
    const finds = fake.operations().filter((op) => op.name === 'find');
    for (const find of finds) {
      expect(find.body.readConcern).toEqual({ level: 'majority' });
      expect(find.body.hint).toBeUndefined();
    }
    expect(finds.map((op) => [op.body.filter._id.$gt, op.body.limit, op.body.sort])).toEqual([
      [Long.fromNumber(0), new Int32(2), { _id: new Int32(1) }],
      [Long.fromNumber(2), new Int32(2), { _id: new Int32(1) }],
    ]);
  });
});
