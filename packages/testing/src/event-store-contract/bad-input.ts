import { randomUUID } from 'node:crypto';
import {
  EventSerializationError,
  type EventStore,
  ExpectedVersion,
  InvalidArgumentError,
  isEventSerializationError,
  isInvalidArgumentError,
  MAX_BATCH_SIZE,
  type NewEvent,
} from '@es/core';
import { describe, expect, it } from '@jest/globals';
import {
  attempt,
  deposited,
  type EventStoreContractConfig,
  newStreamId,
  opened,
  readAll,
  storeOpener,
} from './context.js';

type Call = (store: EventStore) => Promise<unknown> | AsyncIterable<unknown>;

const append = (streamId: unknown, expected: unknown, events: unknown) => (store: EventStore) =>
  store.appendEvents(streamId as string, expected as number, events as NewEvent[]);

const invalidArguments: ReadonlyArray<[string, Call]> = [
  ['an empty stream id', append('', ExpectedVersion.Any, [opened()])],
  ['a non-string stream id', append({ $gt: '' }, ExpectedVersion.Any, [opened()])],
  ['a 513-character stream id', append('x'.repeat(513), ExpectedVersion.Any, [opened()])],
  ['a stream id with a NUL character', append('a\u0000b', ExpectedVersion.Any, [opened()])],
  ['a negative expected version', append('s', -1, [opened()])],
  ['a fractional expected version', append('s', 1.5, [opened()])],
  ['an unknown expected-version marker', append('s', 'latest', [opened()])],
  ['an empty batch', append('s', ExpectedVersion.Any, [])],
  ['a batch that is not an array', append('s', ExpectedVersion.Any, opened())],
  ['an event without a type', append('s', ExpectedVersion.Any, [{ data: {} }])],
  ['an event with an empty type', append('s', ExpectedVersion.Any, [{ type: '', data: {} }])],
  ['an event without data', append('s', ExpectedVersion.Any, [{ type: 'Opened' }])],
  ['an event id that is not a UUID', append('s', ExpectedVersion.Any, [{ ...opened(), eventId: 'abc' }])],
  ['metadata that is not an object', append('s', ExpectedVersion.Any, [{ ...opened(), metadata: 'x' }])],
  ['a zero schema version', append('s', ExpectedVersion.Any, [{ ...opened(), schemaVersion: 0 }])],
  [
    'a field the store would drop (a stored event passed back whole)',
    append('s', ExpectedVersion.Any, [{ ...opened(), timestamp: new Date(), position: 5n }]),
  ],
  ['a misspelt field ("metaData")', append('s', ExpectedVersion.Any, [{ ...opened(), metaData: { a: 1 } }])],
  ['a stream id with a lone UTF-16 surrogate', append('acct-\ud800', ExpectedVersion.Any, [opened()])],
  [
    'an event type with a lone UTF-16 surrogate',
    append('s', ExpectedVersion.Any, [{ type: 'T\udc00', data: {} }]),
  ],
  [
    'a batch over MAX_BATCH_SIZE',
    append(
      's',
      ExpectedVersion.Any,
      Array.from({ length: MAX_BATCH_SIZE + 1 }, () => opened()),
    ),
  ],
  [
    'an operator object as stream id on getEvents',
    (store) => store.getEvents({ $gt: '' } as unknown as string),
  ],
  [
    'an operator object as stream id on getStreamVersion',
    (store) => store.getStreamVersion({ $gt: '' } as unknown as string),
  ],
  [
    'an operator object as stream id on streamExists',
    (store) => store.streamExists({ $ne: null } as unknown as string),
  ],
  [
    'an operator object as event type on getEventsByType',
    (store) => store.getEventsByType({ $ne: null } as never),
  ],
  [
    'an operator object among getAllEvents eventTypes',
    (store) => store.getAllEvents(0n, { eventTypes: [{ $ne: null } as unknown as string] }),
  ],
  ['a negative fromVersion', (store) => store.getEvents('s', -1)],
  ['a fractional fromVersion', (store) => store.getEvents('s', 0.5)],
  ['an empty stream id on read', (store) => store.getEvents('')],
  ['a negative fromPosition', (store) => store.getAllEvents(-1n)],
  ['a number instead of a bigint position', (store) => store.getAllEvents(5 as unknown as bigint)],
  ['a zero batch size', (store) => store.getAllEvents(0n, { batchSize: 0 })],
  ['an empty type list', (store) => store.getEventsByType([])],
  ['an invalid timestamp', (store) => store.getEventsByType('Opened', new Date('nope'))],
  ['an empty stream id for getStreamVersion', (store) => store.getStreamVersion('')],
];

const unserialisable: ReadonlyArray<[string, unknown]> = [
  ['a bigint', { amount: 10n }],
  ['a Date', { at: new Date() }],
  ['a Map', { items: new Map([['a', 1]]) }],
  ['a function', { fn: () => 1 }],
  ['NaN', { amount: Number.NaN }],
  ['Infinity', { amount: Number.POSITIVE_INFINITY }],
  ['a string with a NUL character', { text: 'a\u0000b' }],
  ['a string with a lone surrogate', { text: 'x\ud800y' }],
  ['a key with a lone surrogate', { 'k\udfff': 1 }],
  ['a class instance', { when: new URL('http://localhost/') }],
];

function circular(): unknown {
  const node: Record<string, unknown> = { name: 'loop' };
  node.self = node;
  return node;
}

export function badInputContract(config: EventStoreContractConfig): void {
  const open = storeOpener(config);

  describe('bad input is refused with a typed error and writes nothing', () => {
    it.each(invalidArguments)('InvalidArgumentError for %s', async (_, call) => {
      const store = await open();
      const error = await attempt(() => call(store)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(isInvalidArgumentError(error)).toBe(true);
      expect(await readAll(store)).toEqual([]);
    });

    it.each([...unserialisable, ['a circular reference', circular()] as [string, unknown]])(
      'EventSerializationError for data holding %s',
      async (_, data) => {
        const store = await open();
        const streamId = newStreamId();
        const error = await store
          .appendEvents(streamId, ExpectedVersion.Any, [opened(), { type: 'Odd', data }])
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(EventSerializationError);
        expect(isEventSerializationError(error)).toBe(true);
        expect((error as Error).message).toMatch(/\$/);
        expect(await store.streamExists(streamId)).toBe(false);
      },
    );

    it('EventSerializationError for metadata that is not plain JSON', async () => {
      const store = await open();
      const streamId = newStreamId();
      const event = { ...deposited(1), metadata: { at: new Date() } };
      await expect(store.appendEvents(streamId, ExpectedVersion.Any, [event])).rejects.toBeInstanceOf(
        EventSerializationError,
      );
      expect(await store.streamExists(streamId)).toBe(false);
    });

    it('a batch naming the same event id twice is refused', async () => {
      const store = await open();
      const eventId = randomUUID();
      await expect(
        store.appendEvents(newStreamId(), ExpectedVersion.Any, [
          { ...opened(), eventId },
          { ...deposited(1), eventId },
        ]),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await readAll(store)).toEqual([]);
    });

    it('hostile stream ids and types are stored and read back verbatim', async () => {
      const store = await open();
      const hostile = [`x'; DROP TABLE events; --`, '$where', '{"$gt":""}', 'a\\b"c', 'ünï 🦀', ' x ', '%_'];
      for (const streamId of hostile) {
        await store.appendEvents(streamId, ExpectedVersion.NoStream, [
          { type: `T'"${streamId}`, data: { streamId } },
        ]);
      }
      for (const streamId of hostile) {
        const events = await store.getEvents(streamId);
        expect(events.map((e) => [e.streamId, e.type, e.data])).toEqual([
          [streamId, `T'"${streamId}`, { streamId }],
        ]);
      }
      expect(await readAll(store)).toHaveLength(hostile.length);
      expect(await store.getEvents('%')).toEqual([]);
    });
  });
}
