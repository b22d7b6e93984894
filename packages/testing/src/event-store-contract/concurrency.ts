import { randomUUID } from 'node:crypto';
import { ExpectedVersion, isConcurrencyConflictError, retryOnConcurrencyConflict } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import {
  deposited,
  type EventStoreContractConfig,
  newStreamId,
  opened,
  readAll,
  storeOpener,
  versionsOf,
} from './context.js';

const WRITERS = 10;
const APPENDS_PER_WRITER = 5;

export function concurrencyContract(config: EventStoreContractConfig): void {
  const open = storeOpener(config);
  const reason = config.limitations?.concurrentWriters;
  const title = 'invariants 1 and 2 under concurrent writers';

  if (reason) {
    describe(title, () => {
      it.skip(`is not run for this adapter: ${reason}`, () => undefined);
    });
    return;
  }

  describe(title, () => {
    it(`${WRITERS} writers x ${APPENDS_PER_WRITER} appends on one stream end as versions 1..N, each event once`, async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened()]);
      const acknowledged: string[] = [];
      let conflicts = 0;
      const writer = async () => {
        for (let i = 0; i < APPENDS_PER_WRITER; i++) {
          const eventId = randomUUID();
          await retryOnConcurrencyConflict(
            async () => {
              const version = await store.getStreamVersion(streamId);
              await store.appendEvents(streamId, version, [{ ...deposited(1), eventId }]);
            },
            { maxRetries: 200, backoff: { initialDelayMs: 1, maxDelayMs: 20 }, onRetry: () => conflicts++ },
          );
          acknowledged.push(eventId);
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, writer));
      const events = await store.getEvents(streamId);
      const total = 1 + WRITERS * APPENDS_PER_WRITER;
      expect(versionsOf(events)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(new Set(events.map((e) => e.eventId)).size).toBe(total);
      expect(events.map((e) => e.eventId)).toEqual(expect.arrayContaining(acknowledged));
      // The writers raced: without conflicts this test would not have exercised invariant 2.
      expect(conflicts).toBeGreaterThan(0);
    });

    it('of several writers creating the same stream, exactly one succeeds', async () => {
      const store = await open();
      const streamId = newStreamId();
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.appendEvents(streamId, ExpectedVersion.NoStream, [opened(`owner-${i}`), deposited(i)]),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const loss of lost)
        expect(isConcurrencyConflictError((loss as PromiseRejectedResult).reason)).toBe(true);
      expect(versionsOf(await store.getEvents(streamId))).toEqual([1, 2]);
    });

    it('concurrent appends with the same exact expected version: one wins, the others write nothing', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened()]);
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          store.appendEvents(streamId, 1, [deposited(1), deposited(2), deposited(3)]),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(versionsOf(await store.getEvents(streamId))).toEqual([1, 2, 3, 4]);
      // The losers left nothing in the global log either.
      expect((await readAll(store)).map((e) => e.version)).toEqual([1, 2, 3, 4]);
    });

    it('concurrent Any and StreamExists appends all succeed, as versions 1..N without duplicates', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened()]);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          store.appendEvents(streamId, i % 2 === 0 ? ExpectedVersion.Any : ExpectedVersion.StreamExists, [
            deposited(i),
            deposited(i),
          ]),
        ),
      );
      expect(new Set(results.map((r) => r.nextVersion)).size).toBe(12);
      expect(versionsOf(await store.getEvents(streamId))).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
    });

    it('the same batch retried concurrently is stored once, and every attempt reports the same result', async () => {
      const store = await open();
      const streamId = newStreamId();
      const batch = [
        { ...opened(), eventId: randomUUID() },
        { ...deposited(1), eventId: randomUUID() },
      ];
      const results = await Promise.all(
        Array.from({ length: 6 }, () => store.appendEvents(streamId, ExpectedVersion.NoStream, batch)),
      );
      for (const result of results) expect(result).toEqual(results[0]);
      expect(versionsOf(await store.getEvents(streamId))).toEqual([1, 2]);
      expect(await readAll(store)).toHaveLength(2);
    });
  });
}
