import { randomUUID } from 'node:crypto';
import {
  ConcurrencyConflictError,
  type EventStore,
  ExpectedVersion,
  type ExpectedVersionValue,
  isConcurrencyConflictError,
} from '@es/core';
import { describe, expect, it } from '@jest/globals';
import {
  deposited,
  type EventStoreContractConfig,
  newStreamId,
  opened,
  readAll,
  storeOpener,
  versionsOf,
  withdrawn,
} from './context.js';

async function expectConflict(
  append: Promise<unknown>,
  streamId: string,
  expected: ExpectedVersionValue,
  actual: number,
): Promise<void> {
  const error = await append.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isConcurrencyConflictError(error)).toBe(true);
  expect(error).toBeInstanceOf(ConcurrencyConflictError);
  expect(error).toMatchObject({ streamId, expectedVersion: expected, actualVersion: actual });
}

async function expectUnchanged(
  store: EventStore,
  streamId: string,
  versionBefore: number,
  logBefore: number,
) {
  expect(await store.getStreamVersion(streamId)).toBe(versionBefore);
  expect(await readAll(store)).toHaveLength(logBefore);
}

export function appendContract(config: EventStoreContractConfig): void {
  const open = storeOpener(config);

  describe('appendEvents', () => {
    it('stores a batch as versions 1..n with positions, ids, metadata and timestamps', async () => {
      const store = await open();
      const streamId = newStreamId();
      const before = Date.now();
      const result = await store.appendEvents(streamId, ExpectedVersion.NoStream, [
        { ...opened('Ada'), metadata: { correlationId: 'c-1', causationId: 'cmd-1', userId: 'u-7' } },
        deposited(100),
        withdrawn(30),
      ]);
      const events = await store.getEvents(streamId);
      expect(result.nextVersion).toBe(3);
      expect(versionsOf(events)).toEqual([1, 2, 3]);
      expect(events.map((e) => e.type)).toEqual(['Opened', 'Deposited', 'Withdrawn']);
      expect(events.map((e) => e.data)).toEqual([{ owner: 'Ada' }, { amount: 100 }, { amount: 30 }]);
      expect(events[0]!.metadata).toEqual({ correlationId: 'c-1', causationId: 'cmd-1', userId: 'u-7' });
      expect(events[1]!.metadata).toEqual({});
      for (const event of events) {
        expect(event.streamId).toBe(streamId);
        expect(event.eventId).toMatch(/^[0-9a-f-]{36}$/);
        expect(event.schemaVersion).toBe(1);
        expect(typeof event.position).toBe('bigint');
        expect(event.timestamp).toBeInstanceOf(Date);
        expect(event.timestamp.getTime()).toBeGreaterThanOrEqual(before - 5_000);
      }
      expect(events[0]!.position < events[1]!.position && events[1]!.position < events[2]!.position).toBe(
        true,
      );
      expect(result.lastPosition).toBe(events[2]!.position);
    });

    it('round-trips JSON data exactly: nesting, unicode, quotes, large safe integers', async () => {
      const store = await open();
      const streamId = newStreamId();
      const data = {
        text: `O'Brien "quoted" \\ back; DROP TABLE events; -- 🦀 ünïcödé`,
        nested: { list: [1, 'two', { three: [true, false, null] }], empty: {}, emptyList: [] },
        big: Number.MAX_SAFE_INTEGER,
        negative: -0.5,
        // Keys that mean something to some databases or drivers must come back as plain data.
        reference: { $ref: 'users', $id: 7, note: 'kept' },
        operators: { $set: { a: 1 }, $where: 'x', 'dotted.key': true, _bsontype: 'Long', _id: 'mine' },
        ...JSON.parse('{"__proto__": {"polluted": true}}'),
      };
      await store.appendEvents(streamId, ExpectedVersion.Any, [{ type: 'Payload', data }]);
      const [event] = await store.getEvents(streamId);
      expect(event!.data).toEqual(data);
      expect(Object.getOwnPropertyNames(event!.data)).toContain('__proto__');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('appends with an exact expected version and refuses a stale one, writing nothing', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, 0, [opened()]);
      await store.appendEvents(streamId, 1, [deposited(10)]);
      await expectConflict(store.appendEvents(streamId, 1, [deposited(20), deposited(30)]), streamId, 1, 2);
      await expectConflict(store.appendEvents(streamId, 5, [deposited(20)]), streamId, 5, 2);
      await expectUnchanged(store, streamId, 2, 2);
      const result = await store.appendEvents(streamId, 2, [withdrawn(5)]);
      expect(result.nextVersion).toBe(3);
    });

    it('an expected version far beyond the stream, up to the largest safe integer, is a conflict', async () => {
      // Stores keep versions in 32-bit columns; a huge expected version must still be a conflict,
      // not an overflow surfacing as a driver error.
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, 0, [opened()]);
      for (const expected of [2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
        await expectConflict(store.appendEvents(streamId, expected, [deposited(1)]), streamId, expected, 1);
        await expectConflict(
          store.appendEvents(streamId, expected, [deposited(1), deposited(2)]),
          streamId,
          expected,
          1,
        );
      }
      await expectUnchanged(store, streamId, 1, 1);
    });

    it('expected version 0 and NoStream both require a new stream', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened()]);
      await expectConflict(store.appendEvents(streamId, 0, [opened()]), streamId, 0, 1);
      await expectConflict(
        store.appendEvents(streamId, ExpectedVersion.NoStream, [opened()]),
        streamId,
        ExpectedVersion.NoStream,
        1,
      );
      await expectUnchanged(store, streamId, 1, 1);
    });

    it('StreamExists refuses a missing stream and accepts an existing one', async () => {
      const store = await open();
      const streamId = newStreamId();
      await expectConflict(
        store.appendEvents(streamId, ExpectedVersion.StreamExists, [deposited(1)]),
        streamId,
        ExpectedVersion.StreamExists,
        0,
      );
      expect(await store.streamExists(streamId)).toBe(false);
      await store.appendEvents(streamId, ExpectedVersion.Any, [opened()]);
      const result = await store.appendEvents(streamId, ExpectedVersion.StreamExists, [deposited(1)]);
      expect(result.nextVersion).toBe(2);
    });

    it('Any appends whatever the version', async () => {
      const store = await open();
      const streamId = newStreamId();
      expect((await store.appendEvents(streamId, ExpectedVersion.Any, [opened()])).nextVersion).toBe(1);
      expect(
        (await store.appendEvents(streamId, ExpectedVersion.Any, [deposited(1), deposited(2)])).nextVersion,
      ).toBe(3);
      expect(versionsOf(await store.getEvents(streamId))).toEqual([1, 2, 3]);
    });

    it('a batch with one bad event writes none of it', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened()]);
      const bad = { type: 'Deposited', data: { amount: 1n } };
      await expect(store.appendEvents(streamId, 1, [deposited(1), deposited(2), bad])).rejects.toThrow();
      await expectUnchanged(store, streamId, 1, 1);
    });

    it('streams are independent: versions and conflicts are per stream', async () => {
      const store = await open();
      const a = newStreamId('a');
      const b = newStreamId('b');
      await store.appendEvents(a, ExpectedVersion.NoStream, [opened(), deposited(1)]);
      await store.appendEvents(b, ExpectedVersion.NoStream, [opened()]);
      expect(await store.getStreamVersion(a)).toBe(2);
      expect(await store.getStreamVersion(b)).toBe(1);
      expect(versionsOf(await store.getEvents(b))).toEqual([1]);
    });
  });

  describe('idempotent appends by event id', () => {
    it('a retried append (same ids, same expected version) returns the original result and writes nothing', async () => {
      const store = await open();
      const streamId = newStreamId();
      const batch = [
        { ...opened(), eventId: randomUUID() },
        { ...deposited(5), eventId: randomUUID() },
      ];
      const first = await store.appendEvents(streamId, ExpectedVersion.NoStream, batch);
      const retry = await store.appendEvents(streamId, ExpectedVersion.NoStream, batch);
      expect(retry).toEqual(first);
      expect(versionsOf(await store.getEvents(streamId))).toEqual([1, 2]);
      expect(await readAll(store)).toHaveLength(2);
    });

    it('a retry is recognised after other writers moved the stream on, and with Any', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened()]);
      const batch = [{ ...deposited(7), eventId: randomUUID() }];
      const first = await store.appendEvents(streamId, 1, batch);
      await store.appendEvents(streamId, 2, [deposited(8)]);
      expect(await store.appendEvents(streamId, 1, batch)).toEqual(first);
      expect(await store.appendEvents(streamId, ExpectedVersion.Any, batch)).toEqual(first);
      expect(versionsOf(await store.getEvents(streamId))).toEqual([1, 2, 3]);
    });

    it('a batch only partly stored, or stored at another version, is a conflict and writes nothing', async () => {
      const store = await open();
      const streamId = newStreamId();
      const stored = { ...opened(), eventId: randomUUID() };
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [stored]);
      const fresh = { ...deposited(1), eventId: randomUUID() };
      await expect(store.appendEvents(streamId, ExpectedVersion.Any, [stored, fresh])).rejects.toBeInstanceOf(
        ConcurrencyConflictError,
      );
      await store.appendEvents(streamId, 1, [deposited(2)]);
      await expect(store.appendEvents(streamId, 1, [stored])).rejects.toBeInstanceOf(
        ConcurrencyConflictError,
      );
      await expectUnchanged(store, streamId, 2, 2);
    });

    it('event ids are compared case-insensitively and stored in lower case', async () => {
      const store = await open();
      const streamId = newStreamId();
      const eventId = randomUUID();
      await store.appendEvents(streamId, 0, [{ ...opened(), eventId: eventId.toUpperCase() }]);
      await store.appendEvents(streamId, 0, [{ ...opened(), eventId }]);
      const events = await store.getEvents(streamId);
      expect(events.map((e) => e.eventId)).toEqual([eventId]);
    });
  });
}
