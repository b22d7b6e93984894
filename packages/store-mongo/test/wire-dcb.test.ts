import { randomUUID } from 'node:crypto';
import {
  type AppendCondition,
  AppendConditionFailedError,
  ExpectedVersion,
  isConcurrencyConflictError,
  isInvalidArgumentError,
  isStorePermissionDeniedError,
} from '@es/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type Document, Int32, Long } from 'mongodb';
import { MongoEventStore } from '../src/events/mongo-event-store.js';
import {
  type FakeMongoServer,
  type ReceivedCommand,
  serverReplies,
  startFakeMongoServer,
} from './fake-mongo-server.js';

// Dynamic consistency boundaries on the wire: the real driver against a scripted stand-in (NOT a
// MongoDB; see fake-mongo-server.ts). What matters here is which commands are sent, in which
// transaction and in which order (the condition checked after the counter write), the filters, and
// how replies map to errors. The behaviour against a real server is describeDcbContract in
// mongo-stores.int.test.ts.

const AT = new Date('2026-03-04T05:06:07.089Z');
const cursor = (firstBatch: Document[], ns = 'es.events'): Document => ({
  ok: 1,
  cursor: { id: Long.fromNumber(0), ns, firstBatch },
});
const counterReply = (last: number): Document => ({
  ok: 1,
  value: { _id: 'position', value: Long.fromNumber(last), at: AT },
  lastErrorObject: { n: 1, updatedExisting: true },
});
const stored = (position: number, fields: Document = {}): Document => ({
  _id: Long.fromNumber(position),
  streamId: 's',
  version: new Int32(position),
  eventId: randomUUID(),
  type: 'A',
  schemaVersion: new Int32(1),
  data: '{}',
  metadata: '{}',
  timestamp: AT,
  ...fields,
});

/** `find` on events (or its positions) by what it looks for. */
const isHeadRead = (op: ReceivedCommand) => op.name === 'find' && op.body.sort?.version !== undefined;
const isQuery = (op: ReceivedCommand) => op.name === 'find' && Array.isArray(op.body.filter?.$or);
const isCounterRead = (op: ReceivedCommand) => op.name === 'find' && op.body.find === 'events_positions';

// What each operation is, in order: the shape of the conversation.
function steps(fake: FakeMongoServer): string[] {
  return fake.operations().map((op) => {
    if (isHeadRead(op)) return 'head';
    if (isQuery(op)) return 'query';
    if (isCounterRead(op)) return 'counter';
    if (op.name === 'find' && op.body.filter?.eventId) return 'ids';
    return `${op.name}:${op.body[op.name]}`;
  });
}

const position = (after: number, upTo?: number): Document => ({
  $gt: Long.fromNumber(after),
  ...(upTo === undefined ? {} : { $lte: Long.fromNumber(upTo) }),
});

describe('MongoEventStore: dynamic consistency boundaries on the wire (scripted fake server, not MongoDB)', () => {
  let fake: FakeMongoServer | undefined;
  let store: MongoEventStore | undefined;
  afterEach(async () => {
    await store?.close();
    await fake?.close();
    store = undefined;
    fake = undefined;
  });
  const open = async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    store = new MongoEventStore({ connection: fake.uri });
    return { fake, store };
  };

  it('declares the capability, and appendEvents stores tags exactly as given', async () => {
    const { fake, store } = await open();
    expect(store.capabilities.dynamicConsistencyBoundaries).toBe(true);
    fake.respond = ({ name }) => (name === 'findAndModify' ? counterReply(2) : undefined);
    await store.appendEvents('s', ExpectedVersion.NoStream, [
      { type: 'A', data: {}, tags: ['z:9', 'a:1', 'Mixed Case'] },
      { type: 'B', data: {} },
    ]);
    const insert = fake.operations().find((op) => op.name === 'insert');
    expect((insert!.body.documents as Document[]).map((document) => document.tags)).toEqual([
      ['z:9', 'a:1', 'Mixed Case'],
      [],
    ]);
  });

  it('checks the condition inside the append transaction, after the counter write and before the insert', async () => {
    const { fake, store } = await open();
    fake.respond = ({ name }) => (name === 'findAndModify' ? counterReply(12) : undefined);
    const condition: AppendCondition = {
      failIfEventsMatch: {
        items: [
          { eventTypes: ['CourseDefined'], tags: ['course:c1'] },
          { tags: ['student:s7', 'term:2026'] },
        ],
      },
      afterPosition: 10n,
    };
    const result = await store.append([{ type: 'Subscribed', data: {}, tags: ['course:c1', 'student:s7'] }], {
      condition,
    });
    const insert = fake.operations().find((op) => op.name === 'insert')!;
    const [document] = insert.body.documents as Document[];
    expect(result).toEqual({ nextVersion: 1, lastPosition: 12n, streamId: `$dcb-${document!.eventId}` });
    expect(document).toMatchObject({ streamId: result.streamId, tags: ['course:c1', 'student:s7'] });

    expect(steps(fake)).toEqual([
      'head',
      'findAndModify:events_positions',
      'query',
      'insert:events',
      'commitTransaction:1',
    ]);
    const operations = fake.operations();
    const first = operations[0]!;
    expect(first.body.startTransaction).toBe(true);
    expect(first.body.readConcern).toEqual({ level: 'snapshot' });
    for (const op of operations) {
      expect(op.body.txnNumber).toEqual(first.body.txnNumber);
      expect(op.body.lsid).toEqual(first.body.lsid);
      expect(op.body.autocommit).toBe(false);
    }
    const check = operations.find(isQuery)!;
    const after = position(10);
    expect(check.body.filter).toEqual({
      $or: [
        { type: { $in: ['CourseDefined'] }, tags: { $all: ['course:c1'] }, _id: after },
        { type: { $in: ['CourseDefined'] }, streamId: { $eq: 'course:c1' }, _id: after },
        { tags: { $all: ['student:s7', 'term:2026'] }, _id: after },
        { streamId: { $eq: 'student:s7' }, tags: { $all: ['term:2026'] }, _id: after },
        { streamId: { $eq: 'term:2026' }, tags: { $all: ['student:s7'] }, _id: after },
      ],
    });
    // The first match, its position only.
    expect(check.body.sort).toEqual({ _id: new Int32(1) });
    expect(check.body.limit).toEqual(new Int32(1));
    expect(check.body.projection).toEqual({ _id: new Int32(1) });
  });

  it('a match fails the append with AppendConditionFailedError at its position, aborting without an insert', async () => {
    const { fake, store } = await open();
    fake.respond = (op) => {
      if (op.name === 'findAndModify') return counterReply(12);
      if (isQuery(op)) return cursor([{ _id: Long.fromNumber(11) }]);
      return undefined;
    };
    const condition: AppendCondition = { failIfEventsMatch: { items: [{ tags: ['username:ada'] }] } };
    const error = await store
      .append([{ type: 'Registered', data: {}, tags: ['username:ada'] }], { streamId: 'user-1', condition })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppendConditionFailedError);
    expect(error).toMatchObject({ condition, conflictingPosition: 11n, code: 'ES_APPEND_CONDITION_FAILED' });
    expect(steps(fake)).toEqual(['head', 'findAndModify:events_positions', 'query', 'abortTransaction:1']);
    // Without afterPosition: any matching event, from position 0.
    expect(fake.operations().find(isQuery)!.body.filter.$or[0]._id).toEqual(position(0));
  });

  it('a write conflict on the counter runs the whole attempt again, the check included, in a new transaction', async () => {
    const { fake, store } = await open();
    let conflicts = 1;
    fake.respond = ({ name }) => {
      if (name !== 'findAndModify') return undefined;
      if (conflicts-- > 0) return serverReplies.writeConflict();
      return counterReply(5);
    };
    const condition: AppendCondition = {
      failIfEventsMatch: { items: [{ tags: ['seat:1'] }] },
      afterPosition: 4n,
    };
    await store.append([{ type: 'Claimed', data: {}, tags: ['seat:1'] }], { condition });
    expect(steps(fake)).toEqual([
      'head',
      'findAndModify:events_positions',
      'abortTransaction:1',
      'head',
      'findAndModify:events_positions',
      'query',
      'insert:events',
      'commitTransaction:1',
    ]);
    const heads = fake.operations().filter(isHeadRead);
    expect(heads[1]!.body.txnNumber).not.toEqual(heads[0]!.body.txnNumber);
    expect(heads[1]!.body.startTransaction).toBe(true);
  });

  it('a failed condition check is retried when transient, and otherwise a typed error with nothing inserted', async () => {
    const { fake, store } = await open();
    let transient = 1;
    fake.respond = (op) => {
      if (op.name === 'findAndModify') return counterReply(3);
      if (isQuery(op) && transient-- > 0) return serverReplies.writeConflict();
      return undefined;
    };
    const condition: AppendCondition = { failIfEventsMatch: { items: [{ tags: ['t'] }] } };
    await store.append([{ type: 'A', data: {} }], { condition });
    expect(steps(fake)).toEqual([
      'head',
      'findAndModify:events_positions',
      'query',
      'abortTransaction:1',
      'head',
      'findAndModify:events_positions',
      'query',
      'insert:events',
      'commitTransaction:1',
    ]);

    fake.commands.length = 0;
    fake.respond = (op) => {
      if (op.name === 'findAndModify') return counterReply(4);
      if (isQuery(op)) return { ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'not authorized' };
      return undefined;
    };
    const error = await store.append([{ type: 'A', data: {} }], { condition }).catch((e: unknown) => e);
    expect(isStorePermissionDeniedError(error)).toBe(true);
    expect(steps(fake)).toEqual(['head', 'findAndModify:events_positions', 'query', 'abortTransaction:1']);
  });

  it('a retried batch returns the original result before the condition is checked', async () => {
    const { fake, store } = await open();
    const eventId = randomUUID();
    const streamId = `$dcb-${eventId}`;
    fake.respond = (op) => {
      if (op.name !== 'find' || !op.body.filter?.eventId) return undefined;
      return cursor([{ _id: Long.fromNumber(7), streamId, eventId, version: new Int32(1) }]);
    };
    const result = await store.append([{ type: 'A', data: {}, eventId, tags: ['t'] }], {
      condition: { failIfEventsMatch: { items: [{ tags: ['t'] }] } },
    });
    expect(result).toEqual({ nextVersion: 1, lastPosition: 7n, streamId });
    expect(steps(fake)).toEqual(['head', 'ids', 'abortTransaction:1']);
  });

  it('the expected version is checked before the condition: a mismatch is a ConcurrencyConflictError', async () => {
    const { fake, store } = await open();
    fake.respond = (op) =>
      isHeadRead(op) ? cursor([{ _id: Long.fromNumber(3), version: new Int32(2) }]) : undefined;
    const error = await store
      .append([{ type: 'A', data: {} }], {
        streamId: 'account-1',
        expectedVersion: 1,
        condition: { failIfEventsMatch: { items: [{ tags: ['t'] }] } },
      })
      .catch((e: unknown) => e);
    expect(isConcurrencyConflictError(error)).toBe(true);
    expect(steps(fake)).not.toContain('query');
    expect(steps(fake)).not.toContain('insert:events');
  });

  it('read takes the counter and the events in one snapshot transaction committed with majority', async () => {
    const { fake, store } = await open();
    fake.respond = (op) => {
      if (isCounterRead(op))
        return cursor([{ _id: 'position', value: Long.fromNumber(9) }], 'es.events_positions');
      if (isQuery(op)) {
        return cursor([
          stored(4, { tags: ['course:c1'] }),
          // Written before tags existed: read as untagged.
          stored(6, { streamId: 'course:c1' }),
        ]);
      }
      return undefined;
    };
    const result = await store.read({ items: [{ tags: ['course:c1'] }] }, { afterPosition: 2n });
    expect(result.position).toBe(9n);
    expect(result.events.map((event) => [event.position, event.tags])).toEqual([
      [4n, ['course:c1']],
      [6n, []],
    ]);
    expect(steps(fake)).toEqual(['counter', 'query', 'commitTransaction:1']);
    const [counter, query, commit] = fake.operations() as [ReceivedCommand, ReceivedCommand, ReceivedCommand];
    expect(counter.body.startTransaction).toBe(true);
    expect(counter.body.readConcern).toEqual({ level: 'snapshot' });
    expect(counter.body.filter).toEqual({ _id: { $eq: 'position' } });
    for (const op of [query, commit]) expect(op.body.txnNumber).toEqual(counter.body.txnNumber);
    expect(commit.body.writeConcern).toMatchObject({ w: 'majority' });
    // Bounded by the counter read in the same snapshot, in position order.
    expect(query.body.filter).toEqual({
      $or: [
        { tags: { $all: ['course:c1'] }, _id: position(2, 9) },
        { streamId: { $eq: 'course:c1' }, _id: position(2, 9) },
      ],
    });
    expect(query.body.sort).toEqual({ _id: new Int32(1) });
    expect(query.body.limit).toBeUndefined();
    expect(query.body.projection).toMatchObject({ tags: new Int32(1) });
  });

  it('read with a limit that cuts returns the last event as the position; one that does not, the counter', async () => {
    const { fake, store } = await open();
    let batch = [stored(3), stored(5)];
    fake.respond = (op) => {
      if (isCounterRead(op))
        return cursor([{ _id: 'position', value: Long.fromNumber(8) }], 'es.events_positions');
      if (isQuery(op)) return cursor(batch);
      return undefined;
    };
    const cut = await store.read({ items: [{ eventTypes: ['A'] }] }, { limit: 2 });
    expect(cut.position).toBe(5n);
    expect(fake.operations().find(isQuery)!.body.limit).toEqual(new Int32(2));
    batch = [stored(7)];
    const rest = await store.read({ items: [{ eventTypes: ['A'] }] }, { afterPosition: 5n, limit: 2 });
    expect(rest.position).toBe(8n);
    expect(rest.events.map((event) => event.position)).toEqual([7n]);
  });

  it('read at or past the head sends no query: no events, the given position', async () => {
    const { fake, store } = await open();
    fake.respond = (op) =>
      isCounterRead(op)
        ? cursor([{ _id: 'position', value: Long.fromNumber(4) }], 'es.events_positions')
        : undefined;
    expect(await store.read({ items: [{ tags: ['t'] }] }, { afterPosition: 6n })).toEqual({
      events: [],
      position: 6n,
    });
    expect(steps(fake)).toEqual(['counter', 'commitTransaction:1']);
    fake.commands.length = 0;
    // A store nothing was appended to has no counter document: position 0.
    fake.respond = () => undefined;
    expect(await store.read({ items: [{ tags: ['t'] }] })).toEqual({ events: [], position: 0n });
  });

  it('read retries a transient failure on a fresh snapshot, and maps other failures to typed errors', async () => {
    const { fake, store } = await open();
    let transient = 1;
    fake.respond = (op) => {
      if (isCounterRead(op))
        return cursor([{ _id: 'position', value: Long.fromNumber(4) }], 'es.events_positions');
      if (isQuery(op) && transient-- > 0) return serverReplies.writeConflict();
      return undefined;
    };
    expect(await store.read({ items: [{ tags: ['t'] }] })).toEqual({ events: [], position: 4n });
    expect(steps(fake)).toEqual([
      'counter',
      'query',
      'abortTransaction:1',
      'counter',
      'query',
      'commitTransaction:1',
    ]);

    fake.respond = (op) =>
      isCounterRead(op)
        ? { ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'not authorized on es to execute command' }
        : undefined;
    const error = await store.read({ items: [{ tags: ['t'] }] }).catch((e: unknown) => e);
    expect(isStorePermissionDeniedError(error)).toBe(true);
    expect((error as Error).message).toContain('read');
  });

  it('refuses a malformed query or condition before sending anything', async () => {
    const { fake, store } = await open();
    for (const query of [{ items: [] }, { items: [{ tags: [] }] }, { items: [{ tags: [{ $gt: '' }] }] }]) {
      expect(isInvalidArgumentError(await store.read(query as never).catch((e: unknown) => e))).toBe(true);
      const append = store.append([{ type: 'A', data: {} }], {
        condition: { failIfEventsMatch: query as never },
      });
      expect(isInvalidArgumentError(await append.catch((e: unknown) => e))).toBe(true);
    }
    expect(fake.operations()).toEqual([]);
  });
});
