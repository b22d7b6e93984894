import {
  checkpointProjectionStore,
  type EventStore,
  EventStoreUnavailableError,
  ExpectedVersion,
  InMemoryCheckpointStore,
  InMemoryEventStore,
  InMemoryParkedEventStore,
  isStoreClosedError,
  type ProjectionStore,
  StoreClosedError,
} from '@es/core';
import { describe, expect, it, jest } from '@jest/globals';
import { Projection } from './index.js';
import { deposited, opened, sleep, withoutNotifications } from './testing/test-helpers.js';

jest.setTimeout(60_000);

/** The event store, but reads fail while `down` is set (a dropped connection). */
function flaky(inner: InMemoryEventStore): EventStore & { down: boolean; failedReads: number } {
  const base = withoutNotifications(inner);
  const store = {
    ...base,
    down: false,
    failedReads: 0,
    getAllEvents: ((...args: Parameters<EventStore['getAllEvents']>) => {
      if (!store.down) return inner.getAllEvents(...args);
      store.failedReads++;
      return {
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.reject(new EventStoreUnavailableError('connection terminated (test)')),
        }),
      };
    }) as EventStore['getAllEvents'],
  };
  return store;
}

describe('Projection: store faults', () => {
  it('recovers from each of seven outages as fast as from the first (the backoff resets once it reads again)', async () => {
    const inner = new InMemoryEventStore();
    const store = flaky(inner);
    let seen = 0n;
    const projection = new Projection({
      name: 'outages',
      eventStore: store,
      handler: (event) => {
        seen = event.position;
      },
      pollIntervalMs: 10,
      onError: () => undefined,
    });
    projection.start();
    await projection.waitForIdle();
    const recoveries: number[] = [];
    for (let cut = 0; cut < 7; cut++) {
      store.down = true;
      const failed = store.failedReads;
      while (store.failedReads === failed) await sleep(2);
      await sleep(150);
      store.down = false;
      const upAt = Date.now();
      const { lastPosition } = await inner.appendEvents(`s-${cut}`, ExpectedVersion.NoStream, [opened()]);
      await projection.waitForPosition(lastPosition);
      recoveries.push(Date.now() - upAt);
    }
    await projection.stop();
    expect(seen).toBe(7n);
    // One outage of ~150 ms costs a couple of short retries (100 ms, then 200 ms), the seventh as the
    // first. Without the reset the delay doubles across outages up to its 5 s cap (the seventh took
    // 4.2 s): the bound sits far from both, so a loaded machine does not make it flaky.
    expect(Math.max(...recoveries)).toBeLessThan(2_000);
  });

  it('an unavailable store while handling does not spend the handler’s attempts or park the event', async () => {
    const eventStore = new InMemoryEventStore();
    await eventStore.appendEvents('a', ExpectedVersion.NoStream, [opened(), deposited(1)]);
    const parked = new InMemoryParkedEventStore();
    let calls = 0;
    const errors: unknown[] = [];
    const projection = new Projection({
      name: 'dead-connection',
      eventStore,
      checkpoints: new InMemoryCheckpointStore(),
      parked,
      // Its writes go to a store whose connection is down for the first three calls.
      handler: () => {
        calls++;
        if (calls <= 3) throw new EventStoreUnavailableError('connection terminated (test)');
      },
      retry: { maxAttempts: 2, backoff: { initialDelayMs: 1, maxDelayMs: 1 } },
      onError: (error) => void errors.push(error),
    });
    projection.start();
    await projection.waitForPosition(2n);
    await projection.stop();
    expect(await parked.list('dead-connection')).toEqual([]);
    expect(calls).toBe(5);
    expect(errors).toHaveLength(3);
  });

  it('stops with StoreClosedError when its projection store is closed, instead of retrying forever', async () => {
    const eventStore = new InMemoryEventStore();
    await eventStore.appendEvents('a', ExpectedVersion.NoStream, [opened()]);
    const inner = checkpointProjectionStore(new InMemoryCheckpointStore(), new InMemoryParkedEventStore());
    let closed = false;
    let loads = 0;
    const store: ProjectionStore = {
      ...inner,
      load: async (id) => {
        loads++;
        if (closed) throw new StoreClosedError('TestProjectionStore');
        return inner.load(id);
      },
    };
    const errors: unknown[] = [];
    const projection = new Projection({
      name: 'closed',
      eventStore,
      readModel: store,
      handler: () => {
        throw new StoreClosedError('TestProjectionStore');
      },
      onError: (error) => void errors.push(error),
    });
    closed = true;
    projection.start();
    const waiting = projection.waitForPosition(1n).catch((error: unknown) => error);
    await sleep(500);
    expect(isStoreClosedError(await waiting)).toBe(true);
    expect(loads).toBe(1);
    expect(errors).toHaveLength(1);
    expect(isStoreClosedError(projection.failure)).toBe(true);
    await projection.stop();
    expect(isStoreClosedError(await projection.waitForIdle().catch((error: unknown) => error))).toBe(true);
  });

  it('stops with StoreClosedError when a handler meets a closed store, without parking the event', async () => {
    const eventStore = new InMemoryEventStore();
    await eventStore.appendEvents('a', ExpectedVersion.NoStream, [opened()]);
    const parked = new InMemoryParkedEventStore();
    let calls = 0;
    const projection = new Projection({
      name: 'closed-in-handler',
      eventStore,
      parked,
      handler: () => {
        calls++;
        throw new StoreClosedError('TestReadModel');
      },
      retry: { maxAttempts: 3, backoff: { initialDelayMs: 1, maxDelayMs: 1 } },
      onError: () => undefined,
    });
    projection.start();
    expect(isStoreClosedError(await projection.waitForPosition(1n).catch((error: unknown) => error))).toBe(
      true,
    );
    await projection.stop();
    expect(calls).toBe(1);
    expect(await parked.list('closed-in-handler')).toEqual([]);
  });
});
