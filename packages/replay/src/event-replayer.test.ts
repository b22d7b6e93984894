import { ExpectedVersion, InMemoryEventStore, type ReadAllOptions, type StoredEvent } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { EventReplayer, type ReplayProgress } from './index.js';
import {
  type AccountEvent,
  deposited,
  opened,
  positionsOf,
  readAllEvents,
  seed,
  sleep,
} from './testing/test-helpers.js';

describe('EventReplayer.replayAll', () => {
  it('hands every event to the handler once, in global order, and reports the last position', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 5, 7);
    const seen: StoredEvent[] = [];
    const result = await new EventReplayer(store).replayAll((event) => void seen.push(event), 0n, {
      batchSize: 4,
    });
    const all = await readAllEvents(store);
    expect(positionsOf(seen)).toEqual(positionsOf(all));
    expect(result.processed).toBe(35);
    expect(result.lastPosition).toBe(all[34]!.position);
  });

  it('starts after fromPosition and stops at toPosition (inclusive)', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 2, 10);
    const all = await readAllEvents(store);
    const seen: StoredEvent[] = [];
    await new EventReplayer(store).replayAll((event) => void seen.push(event), all[4]!.position, {
      toPosition: all[11]!.position,
      batchSize: 3,
    });
    expect(positionsOf(seen)).toEqual(positionsOf(all.slice(5, 12)));
  });

  it('passes the event-type filter and batch size to the store query', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 3, 4);
    const queries: ReadAllOptions[] = [];
    const original = store.getAllEvents.bind(store);
    store.getAllEvents = ((from?: bigint, options: ReadAllOptions = {}) => {
      queries.push(options);
      return original(from, options);
    }) as typeof store.getAllEvents;
    const seen: string[] = [];
    const result = await new EventReplayer(store).replayAll((event) => void seen.push(event.type), 0n, {
      eventTypes: ['Opened'],
      batchSize: 2,
    });
    expect(seen).toEqual(['Opened', 'Opened', 'Opened']);
    expect(result.processed).toBe(3);
    expect(queries).toEqual([expect.objectContaining({ eventTypes: ['Opened'], batchSize: 2 })]);
  });

  it('accepts an object handler with handleEvent (the spec ProjectionHandler)', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 1, 3);
    const types: string[] = [];
    await new EventReplayer(store).replayAll({ handleEvent: (event) => types.push(event.type) });
    expect(types).toEqual(['Opened', 'Deposited', 'Deposited']);
  });

  it('rejects with the handler error and stops there', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 1, 5);
    let calls = 0;
    const failing = async (event: StoredEvent) => {
      calls++;
      if (event.version === 3) throw new Error('boom');
    };
    await expect(new EventReplayer(store).replayAll(failing)).rejects.toThrow('boom');
    expect(calls).toBe(3);
  });

  it('in parallel keeps each stream in version order while streams run concurrently', async () => {
    const store = new InMemoryEventStore();
    const streams = await seed(store, 12, 6);
    const lastVersion = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const result = await new EventReplayer(store).replayAll<AccountEvent>(
      async (event) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(Math.random() * 3);
        expect(event.version).toBe((lastVersion.get(event.streamId) ?? 0) + 1);
        lastVersion.set(event.streamId, event.version);
        inFlight--;
      },
      0n,
      { parallel: { concurrency: 4 }, batchSize: 30 },
    );
    expect(result.processed).toBe(72);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    for (const id of streams) expect(lastVersion.get(id)).toBe(6);
  });

  it('in parallel never runs two events of one stream at once', async () => {
    const store = new InMemoryEventStore();
    const id = 'single';
    await store.appendEvents(id, ExpectedVersion.NoStream, [opened(), ...[1, 2, 3, 4, 5].map(deposited)]);
    let busy = false;
    const versions: number[] = [];
    await new EventReplayer(store).replayAll(
      async (event) => {
        expect(busy).toBe(false);
        busy = true;
        await sleep(2);
        versions.push(event.version);
        busy = false;
      },
      0n,
      { parallel: true, batchSize: 4 },
    );
    expect(versions).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('EventReplayer.replayWithProgress', () => {
  it('reports processed, total, position and elapsed time after each batch; ends at the total', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 4, 5);
    const all = await readAllEvents(store);
    const reports: ReplayProgress[] = [];
    const result = await new EventReplayer(store).replayWithProgress(
      () => {},
      0n,
      { batchSize: 6 },
      (progress) => reports.push(progress),
    );
    expect(reports.map((p) => p.processed)).toEqual([0, 6, 12, 18, 20]);
    expect(reports.every((p) => p.total === 20)).toBe(true);
    expect(reports.map((p) => p.position)).toEqual([0n, ...[5, 11, 17, 19].map((i) => all[i]!.position)]);
    for (let i = 1; i < reports.length; i++) {
      expect(reports[i]!.elapsedMs).toBeGreaterThanOrEqual(reports[i - 1]!.elapsedMs);
    }
    expect(result.processed).toBe(20);
  });

  it('does not count or replay events appended during the replay, so processed never exceeds total', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 2, 5);
    let last: ReplayProgress | undefined;
    await new EventReplayer(store).replayWithProgress(
      async (event) => {
        if (event.version === 1) await store.appendEvents(`late-${event.position}`, 0, [opened()]);
      },
      0n,
      { batchSize: 3 },
      (progress) => {
        last = progress;
      },
    );
    expect(last).toEqual(expect.objectContaining({ processed: 10, total: 10 }));
  });

  it('counts only the filtered types when a filter is given', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 3, 3);
    const totals = new Set<number>();
    await new EventReplayer(store).replayWithProgress(
      () => {},
      0n,
      { eventTypes: ['Deposited'] },
      (p) => totals.add(p.total),
    );
    expect([...totals]).toEqual([6]);
  });
});

describe('EventReplayer.replayAggregate', () => {
  it('replays one stream after fromVersion, in order, reading it in chunks', async () => {
    const store = new InMemoryEventStore();
    const [id] = await seed(store, 2, 9);
    const versions: number[] = [];
    const result = await new EventReplayer(store, { streamBatchSize: 4 }).replayAggregate(id!, 2, (event) =>
      versions.push(event.version),
    );
    expect(versions).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(result).toEqual({ streamId: id, processed: 7, version: 9 });
  });

  it('reports nothing processed for a missing stream', async () => {
    const result = await new EventReplayer(new InMemoryEventStore()).replayAggregate('nope');
    expect(result).toEqual({ streamId: 'nope', processed: 0, version: 0 });
  });
});
