import {
  ExpectedVersion,
  isEventSerializationError,
  isInvalidArgumentError,
  MAX_BATCH_SIZE,
  type NewEvent,
  type Snapshot,
} from '@es/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MongoEventStore } from '../src/events/mongo-event-store.js';
import { MongoCheckpointStore } from '../src/projections/mongo-checkpoint-store.js';
import { MongoSnapshotStore } from '../src/snapshots/mongo-snapshot-store.js';
import { type FakeMongoServer, startFakeMongoServer } from './fake-mongo-server.js';

// The real driver against the scripted wire stand-in (NOT a MongoDB): input every store must refuse
// is refused before any command reaches the server. A lone UTF-16 surrogate would be stored as
// U+FFFD, so two different ids would collide; a non-string id could become a query operator.

const LONE_HIGH = 'order-\uD800';
const LONE_LOW = '\uDC00-order';
const NON_STRINGS: unknown[] = [42, { $gt: '' }, ['a'], undefined, null];
const BAD_IDS: unknown[] = [LONE_HIGH, LONE_LOW, '', ...NON_STRINGS];

const refusal = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => new Error('accepted'),
    (error: unknown) => error,
  );
// Each promise gets its rejection handler at once (they are awaited later, one by one).
function collect() {
  const attempts: Array<[string, Promise<unknown>]> = [];
  const attempt = (what: string, promise: Promise<unknown>) => {
    attempts.push([what, refusal(promise)]);
  };
  return { attempts, attempt };
}
const drain = async (iterable: AsyncIterable<unknown>) => {
  for await (const _ of iterable) break;
};

describe('input refused before any request (scripted fake server, not MongoDB)', () => {
  let fake: FakeMongoServer | undefined;
  const closing: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const store of closing.splice(0)) await store.close();
    await fake?.close();
    fake = undefined;
  });
  const start = async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    return fake;
  };

  it('event store: lone surrogates and non-strings in ids, types and data; oversized batches', async () => {
    const fake = await start();
    const store = new MongoEventStore({ connection: fake.uri });
    closing.push(store);
    const event: NewEvent = { type: 'A', data: {} };
    const { attempts, attempt } = collect();
    for (const id of BAD_IDS) {
      const streamId = id as string;
      attempt(`append ${String(id)}`, store.appendEvents(streamId, ExpectedVersion.Any, [event]));
      attempt(`getEvents ${String(id)}`, store.getEvents(streamId));
      attempt(`getStreamVersion ${String(id)}`, store.getStreamVersion(streamId));
      attempt(`streamExists ${String(id)}`, store.streamExists(streamId));
      // An array is a list of types there (['a'] is valid); its items are checked the same way.
      const types = Array.isArray(id) ? [LONE_HIGH] : streamId;
      attempt(`getEventsByType ${String(id)}`, store.getEventsByType(types));
      attempt(
        `getAllEvents ${String(id)}`,
        (async () => drain(store.getAllEvents(0n, { eventTypes: [streamId] })))(),
      );
      attempt(
        `event type ${String(id)}`,
        store.appendEvents('s', ExpectedVersion.Any, [{ type: streamId, data: {} }]),
      );
    }
    for (const eventId of [LONE_HIGH, LONE_LOW, 42]) {
      attempt(
        `event id ${String(eventId)}`,
        store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {}, eventId: eventId as string }]),
      );
    }
    for (const data of [{ text: LONE_HIGH }, { [LONE_LOW]: 1 }, { nested: [LONE_HIGH] }]) {
      attempt('data', store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data }]));
      attempt(
        'metadata',
        store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {}, metadata: data }]),
      );
    }
    const tooMany = Array.from({ length: MAX_BATCH_SIZE + 1 }, () => event);
    attempt('batch over MAX_BATCH_SIZE', store.appendEvents('s', ExpectedVersion.Any, tooMany));

    for (const [what, refused] of attempts) {
      const error = await refused;
      const typed = isInvalidArgumentError(error) || isEventSerializationError(error);
      expect([what, typed]).toEqual([what, true]);
    }
    expect(fake.operations()).toEqual([]);
  });

  it('snapshot store: lone surrogates and non-strings in stream ids and state', async () => {
    const fake = await start();
    const store = new MongoSnapshotStore({ connection: fake.uri });
    closing.push(store);
    const snapshot = (streamId: unknown, state: unknown = {}): Snapshot =>
      ({ streamId, aggregateVersion: 1, snapshotVersion: 1, state, createdAt: new Date() }) as Snapshot;
    const { attempts, attempt } = collect();
    for (const id of BAD_IDS) {
      attempt(`load ${String(id)}`, store.load(id as string));
      attempt(`delete ${String(id)}`, store.delete(id as string));
      attempt(`save ${String(id)}`, store.save(snapshot(id)));
    }
    attempt('state value', store.save(snapshot('s', { name: LONE_HIGH })));
    attempt('state key', store.save(snapshot('s', { [LONE_LOW]: true })));
    for (const [what, refused] of attempts) {
      const error = await refused;
      const typed = isInvalidArgumentError(error) || isEventSerializationError(error);
      expect([what, typed]).toEqual([what, true]);
    }
    expect(fake.operations()).toEqual([]);
  });

  it('checkpoint store: lone surrogates and non-strings in subscription ids', async () => {
    const fake = await start();
    const store = new MongoCheckpointStore({ connection: fake.uri });
    closing.push(store);
    const { attempts, attempt } = collect();
    for (const id of BAD_IDS) {
      const subscriptionId = id as string;
      attempt(`load ${String(id)}`, store.load(subscriptionId));
      attempt(`save ${String(id)}`, store.save(subscriptionId, 1n));
      attempt(`saveIf ${String(id)}`, store.saveIf(subscriptionId, undefined, 1n));
      attempt(`saveIf expected ${String(id)}`, store.saveIf(subscriptionId, 1n, 2n));
      attempt(`reset ${String(id)}`, store.reset(subscriptionId));
    }
    for (const [what, refused] of attempts) {
      const error = await refused;
      expect([what, isInvalidArgumentError(error)]).toEqual([what, true]);
    }
    expect(fake.operations()).toEqual([]);
  });
});
