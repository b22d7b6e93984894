import { EventRegistry, ExpectedVersion, type StandardSchemaV1, type StoredEvent } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import {
  awaitVisible,
  deposited,
  type EventStoreContractConfig,
  newStreamId,
  opened,
  readAll,
  storeOpener,
  withdrawn,
} from './context.js';

function expectStrictlyIncreasing(events: readonly StoredEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    expect(events[i]!.position > events[i - 1]!.position).toBe(true);
  }
}

export function globalLogContract(config: EventStoreContractConfig): void {
  const open = storeOpener(config);

  describe('getAllEvents (the global log)', () => {
    it('returns every event once, in strictly increasing position, across streams', async () => {
      const store = await open();
      const streams = [newStreamId('a'), newStreamId('b'), newStreamId('c')];
      for (const streamId of streams)
        await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened()]);
      for (const streamId of streams) await store.appendEvents(streamId, 1, [deposited(1), deposited(2)]);
      const events = await readAll(store);
      expect(events).toHaveLength(9);
      expectStrictlyIncreasing(events);
      expect(events.map((e) => e.streamId)).toEqual([
        ...streams,
        streams[0],
        streams[0],
        streams[1],
        streams[1],
        streams[2],
        streams[2],
      ]);
    });

    it('from a position returns exactly the events after it, for every position', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [
        opened(),
        ...[1, 2, 3, 4, 5, 6].map(deposited),
      ]);
      const all = await readAll(store);
      for (let i = 0; i < all.length; i++) {
        const after = await readAll(store, all[i]!.position);
        expect(after.map((e) => e.eventId)).toEqual(all.slice(i + 1).map((e) => e.eventId));
      }
      expect(await readAll(store, all[all.length - 1]!.position)).toEqual([]);
    });

    it('is an async iterable fetched lazily in batches, never an array', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened(), deposited(1), deposited(2)]);
      await awaitVisible(store);
      const iterable = store.getAllEvents(0n, { batchSize: 2 });
      expect(Array.isArray(iterable)).toBe(false);
      const seen: StoredEvent[] = [];
      for await (const event of iterable) {
        seen.push(event);
        // Appended while iterating, after the first batch was fetched: a lazy reader still sees it.
        if (seen.length === 1) {
          await store.appendEvents(streamId, 3, [deposited(3), deposited(4), deposited(5)]);
          await awaitVisible(store);
        }
      }
      expect(seen.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('reads a larger log in small batches without loss or repetition', async () => {
      const store = await open();
      const ids: string[] = [];
      for (let s = 0; s < 20; s++) {
        const streamId = newStreamId();
        const events = [opened(), ...Array.from({ length: 49 }, (_, i) => deposited(i))];
        await store.appendEvents(streamId, ExpectedVersion.NoStream, events);
      }
      await awaitVisible(store);
      for await (const event of store.getAllEvents(0n, { batchSize: 37 })) ids.push(event.eventId);
      expect(ids).toHaveLength(1_000);
      expect(new Set(ids).size).toBe(1_000);
    });

    it('filters by event type and stops at toPosition', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [
        opened(),
        deposited(1),
        deposited(2),
        deposited(3),
      ]);
      const all = await readAll(store);
      const deposits = await readAll(store, 0n, { eventTypes: ['Deposited'], batchSize: 1 });
      expect(deposits.map((e) => e.version)).toEqual([2, 3, 4]);
      const bounded = await readAll(store, 0n, { toPosition: all[2]!.position });
      expect(bounded.map((e) => e.version)).toEqual([1, 2, 3]);
      const none = await readAll(store, 0n, { eventTypes: ['Nothing'] });
      expect(none).toEqual([]);
    });

    it('fetches (and decodes) one batch at a time: batchSize bounds the events materialised (invariant 4)', async () => {
      let decoded = 0;
      const counting: StandardSchemaV1<unknown, { n: number }> = {
        '~standard': {
          version: 1,
          vendor: 'contract',
          validate: (value) => {
            decoded++;
            return { value: value as { n: number } };
          },
        },
      };
      const store = await open({ registry: new EventRegistry().register('Counted', { schema: counting }) });
      const events = Array.from({ length: 200 }, (_, n) => ({ type: 'Counted', data: { n } }));
      await store.appendEvents(newStreamId(), ExpectedVersion.NoStream, events);
      await awaitVisible(store);
      decoded = 0;
      for await (const event of store.getAllEvents(0n, { batchSize: 10 })) {
        expect(event.data).toEqual({ n: 0 });
        break;
      }
      expect(decoded).toBeGreaterThan(0);
      expect(decoded).toBeLessThanOrEqual(10);
    });

    it('combines fromPosition, eventTypes and toPosition', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [
        opened(),
        deposited(1),
        withdrawn(1),
        deposited(2),
        withdrawn(2),
        deposited(3),
      ]);
      const all = await readAll(store);
      const window = await readAll(store, all[1]!.position, {
        eventTypes: ['Deposited'],
        toPosition: all[4]!.position,
        batchSize: 1,
      });
      expect(window.map((e) => e.version)).toEqual([4]);
    });

    it('stops between batches when its AbortSignal fires', async () => {
      const store = await open();
      await store.appendEvents(newStreamId(), ExpectedVersion.NoStream, [
        opened(),
        deposited(1),
        deposited(2),
      ]);
      await awaitVisible(store);
      const controller = new AbortController();
      const seen: StoredEvent[] = [];
      const reading = (async () => {
        for await (const event of store.getAllEvents(0n, { batchSize: 1, signal: controller.signal })) {
          seen.push(event);
          controller.abort();
        }
      })();
      await expect(reading).rejects.toThrow();
      expect(seen).toHaveLength(1);
    });
  });

  followerContract(config, open);
}

// Invariant 3: a follower resuming from its last position never skips nor repeats, even while
// writers commit concurrently.
function followerContract(config: EventStoreContractConfig, open: ReturnType<typeof storeOpener>): void {
  const reason = config.limitations?.concurrentWriters;
  const title = 'invariant 3: a follower that resumes from its last position sees every event once';
  it(reason ? `${title} (sequential writers only: ${reason})` : title, async () => {
    const store = await open();
    const writers = reason ? 1 : 8;
    const streamsPerWriter = 10;
    const eventsPerStream = 5;
    const expected = writers * streamsPerWriter * eventsPerStream;
    let lastWritten = 0n;
    let writing = true;
    const writeAll = async (writer: number) => {
      for (let s = 0; s < streamsPerWriter; s++) {
        const streamId = newStreamId(`w${writer}`);
        for (let v = 0; v < eventsPerStream; v++) {
          const { lastPosition } = await store.appendEvents(streamId, v, [deposited(v)]);
          if (lastPosition > lastWritten) lastWritten = lastPosition;
        }
      }
    };
    const seen: StoredEvent[] = [];
    // Follows until it has handled the last position any writer got back. A store may show events
    // only once every older transaction has finished (so followers never skip), so the last ones
    // can appear a little after the writers return; the deadline only bounds a broken store.
    const follow = async () => {
      let checkpoint = 0n;
      const deadline = () => !writing && Date.now() > writersDoneAt + 30_000;
      while (writing || checkpoint < lastWritten) {
        if (deadline()) return;
        for await (const event of store.getAllEvents(checkpoint, { batchSize: 7 })) {
          seen.push(event);
          checkpoint = event.position;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    let writersDoneAt = 0;
    const following = follow();
    await Promise.all(Array.from({ length: writers }, (_, w) => writeAll(w)));
    writersDoneAt = Date.now();
    writing = false;
    await following;
    expect(seen).toHaveLength(expected);
    expect(new Set(seen.map((e) => e.eventId)).size).toBe(expected);
    expectStrictlyIncreasing(seen);
  });
}
