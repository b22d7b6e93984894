import {
  ExpectedVersion,
  InMemoryCheckpointStore,
  InMemoryEventStore,
  InMemoryProjectionLock,
} from '@es/core';
import { describe, expect, it, jest } from '@jest/globals';
import { Projection } from './index.js';
import { deposited, opened, seed, sleep } from './testing/test-helpers.js';

jest.setTimeout(20_000);

const quiet = { onError: () => {} };

describe('Projection: one active instance', () => {
  it('runs one instance at a time; a standby takes over from the checkpoint when the holder dies', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 2, 10);
    const lock = new InMemoryProjectionLock({ ttlMs: 150, renewEveryMs: 30 });
    const checkpoints = new InMemoryCheckpointStore();
    const handledBy: Record<string, bigint[]> = { a: [], b: [] };
    const crashA = new AbortController();
    const make = (who: 'a' | 'b', signal?: AbortSignal) =>
      new Projection({
        name: 'single',
        eventStore: store,
        checkpoints,
        lock,
        lockRetryMs: 20,
        batchSize: 5,
        ...(signal ? { signal } : {}),
        ...quiet,
        handler: (event) => void handledBy[who]!.push(event.position),
      });
    const a = make('a', crashA.signal);
    a.start();
    await a.waitForPosition(20n);
    const b = make('b');
    b.start();
    await sleep(100);
    expect(a.active).toBe(true);
    expect(b.active).toBe(false);
    await store.appendEvents('more', ExpectedVersion.NoStream, [opened(), deposited(1)]);
    await a.waitForPosition(22n);
    expect(handledBy.b).toEqual([]);

    crashA.abort();
    await a.stop();
    await store.appendEvents('more', 2, [deposited(2), deposited(3)]);
    await b.waitForPosition(24n);
    expect(b.active).toBe(true);
    await b.stop();
    expect(handledBy.a).toEqual(Array.from({ length: 22 }, (_, i) => BigInt(i + 1)));
    expect(handledBy.b).toEqual([23n, 24n]);
  });

  it('hands over at once when the active instance stops cleanly', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 1, 4);
    const lock = new InMemoryProjectionLock({ ttlMs: 60_000 });
    const checkpoints = new InMemoryCheckpointStore();
    const make = () =>
      new Projection({
        name: 'handover',
        eventStore: store,
        checkpoints,
        lock,
        lockRetryMs: 20,
        handler: () => {},
      });
    const a = make();
    a.start();
    await a.waitForPosition(4n);
    const b = make();
    b.start();
    await a.stop();
    await store.appendEvents('x', ExpectedVersion.NoStream, [opened()]);
    await b.waitForPosition(5n);
    await b.stop();
  });
});

describe('Projection: a stale instance', () => {
  it('does not move a checkpoint another instance moved; it reloads and goes on from there', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 1, 6);
    const checkpoints = new InMemoryCheckpointStore();
    const seen: bigint[] = [];
    let jumped = false;
    const projection = new Projection({
      name: 'stale',
      eventStore: store,
      checkpoints,
      batchSize: 2,
      handler: async (event) => {
        seen.push(event.position);
        // Meanwhile another instance has handled up to position 4.
        if (!jumped) {
          jumped = true;
          await checkpoints.save('stale', 4n);
        }
      },
    });
    projection.start();
    await projection.waitForPosition(6n);
    await projection.stop();
    // Batch 1..2 was refused at commit (the checkpoint was no longer where it started).
    expect(seen).toEqual([1n, 2n, 5n, 6n]);
    expect(await checkpoints.load('stale')).toBe(6n);
  });
});
