import { randomUUID } from 'node:crypto';
import {
  ConcurrencyConflictError,
  EventSerializationError,
  type EventStore,
  ExpectedVersion,
  InvalidArgumentError,
  MAX_JSON_DEPTH,
  type NewEvent,
} from '@es/core';
import { describe, expect, it } from '@jest/globals';
import {
  attempt,
  awaitVisible,
  deposited,
  type EventStoreContractConfig,
  newStreamId,
  opened,
  readAll,
  storeOpener,
  versionsOf,
} from './context.js';

// Values at the edge of what a database column holds, and values JSON would alter: every store
// answers them the same way, so a test on the in-memory store predicts production.

const INT32_MAX = 2 ** 31 - 1;
const INT64_MAX = 2n ** 63n - 1n;

async function failure(call: () => Promise<unknown> | AsyncIterable<unknown>): Promise<unknown> {
  return attempt(call).then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** `depth` nested one-key objects around `leaf`: depth 1 is `{ n: leaf }`. */
function nested(depth: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let level = 0; level < depth; level++) value = { n: value };
  return value;
}

export function edgeValuesContract(config: EventStoreContractConfig): void {
  const open = storeOpener(config);

  describe('numbers at the edge of the stores’ ranges', () => {
    it('a version argument past the largest storable version (2^31 - 1) matches nothing', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened(), deposited(1)]);
      for (const fromVersion of [INT32_MAX, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
        expect(await store.getEvents(streamId, fromVersion)).toEqual([]);
      }
      for (const toVersion of [INT32_MAX, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
        expect(versionsOf(await store.getEvents(streamId, 0, { toVersion }))).toEqual([1, 2]);
      }
      expect(versionsOf(await store.getEvents(streamId, 1, { limit: Number.MAX_SAFE_INTEGER }))).toEqual([2]);
    });

    it('limits and batch sizes take any positive safe integer', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened(), deposited(1)]);
      const huge = Number.MAX_SAFE_INTEGER;
      // Reads by type are bounded like the global log: wait until the append is visible.
      await awaitVisible(store);
      expect(await store.getEventsByType('Opened', undefined, { limit: huge })).toHaveLength(1);
      expect(await readAll(store, 0n, { batchSize: huge })).toHaveLength(2);
      expect(await readAll(store, 0n, { batchSize: 2 ** 31 })).toHaveLength(2);
    });

    it('positions are bigints from 0 to 2^63 - 1; past that is InvalidArgumentError', async () => {
      const store = await open();
      await store.appendEvents(newStreamId(), ExpectedVersion.NoStream, [opened()]);
      expect(await readAll(store, INT64_MAX)).toEqual([]);
      expect(await readAll(store, 0n, { toPosition: INT64_MAX })).toHaveLength(1);
      expect(await store.getEventsByType('Opened', undefined, { afterPosition: INT64_MAX })).toEqual([]);
      const tooFar = INT64_MAX + 1n;
      for (const call of [
        () => store.getAllEvents(tooFar),
        () => store.getAllEvents(0n, { toPosition: tooFar }),
        () => store.getEventsByType('Opened', undefined, { afterPosition: tooFar }),
      ]) {
        expect(await failure(call)).toBeInstanceOf(InvalidArgumentError);
      }
    });

    it('a schema version is a 32-bit positive integer: 2^31 - 1 is stored, 2^31 refused', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [
        { ...opened(), schemaVersion: INT32_MAX },
      ]);
      expect((await store.getEvents(streamId)).map((event) => event.schemaVersion)).toEqual([INT32_MAX]);
      for (const schemaVersion of [2 ** 31, Number.MAX_SAFE_INTEGER]) {
        const error = await failure(() =>
          store.appendEvents(streamId, ExpectedVersion.Any, [{ ...deposited(1), schemaVersion }]),
        );
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as Error).message).toMatch(/events\[0\]\.schemaVersion/);
      }
      expect(await store.getStreamVersion(streamId)).toBe(1);
    });

    it('any valid Date is a fromTimestamp: the earliest matches every event, the latest none', async () => {
      const store = await open();
      await store.appendEvents(newStreamId(), ExpectedVersion.NoStream, [opened()]);
      await readAll(store);
      expect(await store.getEventsByType('Opened', new Date(-8.64e15))).toHaveLength(1);
      expect(await store.getEventsByType('Opened', new Date('-004714-01-01T00:00:00Z'))).toHaveLength(1);
      expect(await store.getEventsByType('Opened', new Date(8.64e15))).toEqual([]);
    });
  });

  describe('batches with holes', () => {
    it.each<[string, () => unknown[]]>([
      // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
      ['a leading hole', () => [, opened()]],
      // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
      ['a hole between events', () => [opened(), , deposited(1)]],
      ['an array made with new Array(2)', () => new Array(2)],
    ])('%s is InvalidArgumentError naming the index, and writes nothing', async (_, batch) => {
      const store = await open();
      const streamId = newStreamId();
      const error = await failure(() =>
        store.appendEvents(streamId, ExpectedVersion.Any, batch() as NewEvent[]),
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/events\[\d\]/);
      expect(await store.streamExists(streamId)).toBe(false);
      expect(await readAll(store)).toEqual([]);
    });
  });

  describe('event data and metadata are stored exactly, or refused with the path', () => {
    const refused: ReadonlyArray<[string, () => unknown, RegExp]> = [
      ['a property set to undefined', () => ({ a: 1, b: undefined }), /\$\.b/],
      // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
      ['an array with a hole', () => ({ list: [1, , 3] }), /\$\.list\[1\]/],
      ['an array made with new Array(1)', () => ({ list: new Array(1) }), /\$\.list\[0\]/],
      ['undefined in an array', () => ({ list: [undefined] }), /\$\.list\[0\]/],
      ['minus zero', () => ({ delta: -0 }), /\$\.delta/],
      ['a symbol value', () => ({ tag: Symbol('x') }), /\$\.tag/],
      ['a symbol key', () => ({ [Symbol('x')]: 1, ok: true }), /\$/],
      ['an array with a named property', () => ({ list: Object.assign([1], { extra: 2 }) }), /\$\.list/],
      ['a boxed string', () => ({ text: new String('x') }), /\$\.text/],
      ['nesting one level past MAX_JSON_DEPTH', () => nested(MAX_JSON_DEPTH + 1), /depth/],
      ['nesting far past any stack', () => nested(200_000), /depth/],
    ];

    it.each(refused)('data holding %s is EventSerializationError', async (_, data, path) => {
      const store = await open();
      const streamId = newStreamId();
      const error = await failure(() =>
        store.appendEvents(streamId, ExpectedVersion.Any, [opened(), { type: 'Odd', data: data() }]),
      );
      expect(error).toBeInstanceOf(EventSerializationError);
      expect((error as Error).message).toMatch(path);
      expect(await store.streamExists(streamId)).toBe(false);
    });

    it('metadata holding a property set to undefined is EventSerializationError', async () => {
      const store = await open();
      const streamId = newStreamId();
      const event = { ...deposited(1), metadata: { correlationId: 'c-1', causationId: undefined } };
      const error = await failure(() => store.appendEvents(streamId, ExpectedVersion.Any, [event]));
      expect(error).toBeInstanceOf(EventSerializationError);
      expect((error as Error).message).toMatch(/\$\.causationId/);
      expect(await store.streamExists(streamId)).toBe(false);
    });

    it('data nested exactly MAX_JSON_DEPTH deep round-trips', async () => {
      const store = await open();
      const streamId = newStreamId();
      // The event's data object is level 1, so this nests MAX_JSON_DEPTH containers in all.
      const data = nested(MAX_JSON_DEPTH - 1, [0]) as Record<string, unknown>;
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [{ type: 'Deep', data }]);
      const [event] = await store.getEvents(streamId);
      expect(event!.data).toEqual(data);
    });

    it('numbers come back as given: extremes of doubles, unsafe integers, zero', async () => {
      const store = await open();
      const streamId = newStreamId();
      const data = {
        numbers: [0, 2 ** 53 + 2, -(2 ** 60), Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 0.1 + 0.2, -1e-7],
      };
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [{ type: 'Numbers', data }]);
      const [event] = await store.getEvents(streamId);
      expect(event!.data).toEqual(data);
      expect(Object.is((event!.data as typeof data).numbers[0], 0)).toBe(true);
    });
  });

  describe('identifiers', () => {
    it.each([
      [
        'a whitespace-only stream id',
        (s: EventStore) => s.appendEvents(' ', ExpectedVersion.Any, [opened()]),
      ],
      ['a tab-and-newline stream id', (s: EventStore) => s.getEvents('\t\n')],
      ['a whitespace-only stream id on getStreamVersion', (s: EventStore) => s.getStreamVersion('\u00a0')],
      [
        'a whitespace-only event type',
        (s: EventStore) => s.appendEvents('s', ExpectedVersion.Any, [{ type: '  ', data: {} }]),
      ],
      ['a whitespace-only type on getEventsByType', (s: EventStore) => s.getEventsByType(' ')],
    ])('%s is InvalidArgumentError', async (_, call) => {
      const store = await open();
      expect(await failure(() => call(store))).toBeInstanceOf(InvalidArgumentError);
      expect(await readAll(store)).toEqual([]);
    });
  });

  describe('option objects', () => {
    it.each<[string, (store: EventStore) => Promise<unknown> | AsyncIterable<unknown>]>([
      ['getEvents options: null', (s) => s.getEvents('s', 0, null as never)],
      ['getEvents options: a string', (s) => s.getEvents('s', 0, 'all' as never)],
      ['getEventsByType options: null', (s) => s.getEventsByType('Opened', undefined, null as never)],
      ['getAllEvents options: null', (s) => s.getAllEvents(0n, null as never)],
      [
        'a getAllEvents signal that is not an AbortSignal',
        (s) => s.getAllEvents(0n, { signal: {} as never }),
      ],
      ['getAllEvents batchSize: null', (s) => s.getAllEvents(0n, { batchSize: null as never })],
      [
        'getEventsByType afterPosition: null',
        (s) => s.getEventsByType('Opened', undefined, { afterPosition: null as never }),
      ],
    ])('%s is InvalidArgumentError, not a TypeError or a default', async (_, call) => {
      const store = await open();
      await store.appendEvents(newStreamId(), ExpectedVersion.NoStream, [opened()]);
      expect(await failure(() => call(store))).toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('caller-chosen event ids are unique across the store', () => {
    it('an event id stored in one stream is a conflict in another, which stays unwritten', async () => {
      const store = await open();
      const first = newStreamId('first');
      const second = newStreamId('second');
      const eventId = randomUUID();
      const original = await store.appendEvents(first, ExpectedVersion.NoStream, [{ ...opened(), eventId }]);
      for (const expected of [ExpectedVersion.NoStream, ExpectedVersion.Any, 0] as const) {
        const error = await failure(() =>
          store.appendEvents(second, expected, [deposited(1), { ...deposited(2), eventId }]),
        );
        expect(error).toBeInstanceOf(ConcurrencyConflictError);
        expect((error as Error).message).toContain(eventId);
      }
      expect(await store.streamExists(second)).toBe(false);
      // The retry in the stream that holds it is still recognised.
      expect(await store.appendEvents(first, ExpectedVersion.NoStream, [{ ...opened(), eventId }])).toEqual(
        original,
      );
      expect(await readAll(store)).toHaveLength(1);
    });
  });
}
