import {
  type CheckpointStore,
  checkpointProjectionStore,
  type DomainEvent,
  type EventStore,
  ExpectedVersion,
  InMemoryCheckpointStore,
  InMemoryEventStore,
  InMemoryParkedEventStore,
  isInvalidArgumentError,
  type ParkedEvent,
  type ReadAllOptions,
  type StoredEvent,
} from '@es/core';
import { describe, expect, it, jest } from '@jest/globals';
import { Projection } from './index.js';
import {
  type AccountEvent,
  BalanceReadModel,
  deposited,
  opened,
  positionsOf,
  readAllEvents,
  seed,
  sleep,
  withoutNotifications,
} from './testing/test-helpers.js';

jest.setTimeout(20_000);

describe('Projection: catch-up then live', () => {
  it('handles the stored log, then live appends woken by notifications, each once and in order', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 3, 4);
    const seen: StoredEvent[] = [];
    // A poll interval far beyond the test's duration: only notifications can deliver the live events.
    const projection = new Projection({
      name: 'live',
      eventStore: store,
      handler: (event) => void seen.push(event),
      batchSize: 5,
      pollIntervalMs: 600_000,
    });
    projection.start();
    await projection.waitForIdle();
    expect(seen).toHaveLength(12);
    const started = Date.now();
    const { lastPosition } = await store.appendEvents('late', ExpectedVersion.NoStream, [opened()]);
    await projection.waitForPosition(lastPosition);
    expect(Date.now() - started).toBeLessThan(1000);
    await projection.stop();
    expect(positionsOf(seen)).toEqual(positionsOf(await readAllEvents(store)));
  });

  it('falls back to polling when the store has no live notifications', async () => {
    const inner = new InMemoryEventStore();
    const store = withoutNotifications(inner);
    const seen: bigint[] = [];
    const projection = new Projection({
      name: 'polling',
      eventStore: store,
      handler: (event) => void seen.push(event.position),
      pollIntervalMs: 20,
    });
    projection.start();
    await projection.waitForIdle();
    const { lastPosition } = await store.appendEvents('s', ExpectedVersion.NoStream, [
      opened(),
      deposited(1),
    ]);
    await projection.waitForPosition(lastPosition);
    await projection.stop();
    expect(seen).toEqual([1n, 2n]);
  });

  it('with 8 concurrent writers on many streams sees every event exactly once, in global order', async () => {
    const store = new InMemoryEventStore();
    const seen: StoredEvent[] = [];
    const projection = new Projection({
      name: 'writers',
      eventStore: store,
      handler: async (event) => {
        seen.push(event);
        if (seen.length % 17 === 0) await sleep(1);
      },
      batchSize: 25,
      pollIntervalMs: 600_000,
    });
    projection.start();
    const writer = async (w: number) => {
      for (let s = 0; s < 10; s++) {
        const id = `w${w}-s${s}`;
        await store.appendEvents(id, ExpectedVersion.NoStream, [opened(id)]);
        for (let v = 1; v < 6; v++) {
          await store.appendEvents(id, v, [deposited(v)]);
          if (v % 2 === 0) await sleep(0);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    const all = await readAllEvents(store);
    await projection.waitForPosition(all[all.length - 1]!.position);
    await projection.stop();
    expect(all).toHaveLength(8 * 10 * 6);
    expect(positionsOf(seen)).toEqual(positionsOf(all));
    expect(new Set(seen.map((e) => e.eventId)).size).toBe(all.length);
  });
});

describe('Projection: events announced before they are readable', () => {
  it('re-reads shortly after a notification, so an event hidden for a moment is not left to the next poll', async () => {
    const inner = new InMemoryEventStore();
    // Like a gap-free store: events stay unreadable until an older transaction ends, whose end
    // sends no notification.
    let visibleUpTo = 0n;
    const store = withoutNotifications(inner);
    const hiding: EventStore = {
      ...store,
      capabilities: inner.capabilities,
      subscribeToAppends: (listener: () => void) => inner.subscribeToAppends(listener),
      getAllEvents: <E extends DomainEvent>(from?: bigint, options: ReadAllOptions = {}) =>
        inner.getAllEvents<E>(from, { ...options, toPosition: visibleUpTo }),
    };
    const seen: bigint[] = [];
    const projection = new Projection({
      name: 'hidden',
      eventStore: hiding,
      pollIntervalMs: 600_000,
      handler: (event) => void seen.push(event.position),
    });
    projection.start();
    await projection.waitForIdle();
    await inner.appendEvents('s', ExpectedVersion.NoStream, [opened()]);
    await sleep(30);
    const released = Date.now();
    visibleUpTo = 1n;
    await projection.waitForPosition(1n);
    expect(Date.now() - released).toBeLessThan(1000);
    await projection.stop();
    expect(seen).toEqual([1n]);
  });
});

describe('Projection: checkpoints', () => {
  it('stores the checkpoint after each batch, at the batch’s last position, and resumes from it', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 1, 10);
    const checkpoints = new InMemoryCheckpointStore();
    const saved: bigint[] = [];
    const saveIf = checkpoints.saveIf.bind(checkpoints);
    checkpoints.saveIf = async (id, expected, position) => {
      saved.push(position);
      return saveIf(id, expected, position);
    };
    const first = new Projection({
      name: 'cp',
      eventStore: store,
      checkpoints,
      handler: () => {},
      batchSize: 4,
    });
    first.start();
    await first.waitForPosition(10n);
    await first.stop();
    expect(saved).toEqual([4n, 8n, 10n]);

    await store.appendEvents('other', ExpectedVersion.NoStream, [opened(), deposited(5)]);
    const seen: bigint[] = [];
    const second = new Projection({
      name: 'cp',
      eventStore: store,
      checkpoints,
      handler: (event) => void seen.push(event.position),
    });
    second.start();
    await second.waitForPosition(12n);
    await second.stop();
    expect(seen).toEqual([11n, 12n]);
  });

  it('stop() lets the batch in progress finish and commit, then returns', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 1, 20);
    const checkpoints = new InMemoryCheckpointStore();
    const handled: bigint[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const projection = new Projection({
      name: 'stop',
      eventStore: store,
      checkpoints,
      batchSize: 5,
      handler: async (event) => {
        if (event.position === 7n) await gate;
        handled.push(event.position);
      },
    });
    projection.start();
    await projection.waitForPosition(5n);
    while (handled.length < 6) await sleep(1);
    const stopped = projection.stop();
    await sleep(20);
    release();
    await stopped;
    expect(handled).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
    expect(await checkpoints.load('stop')).toBe(10n);
  });

  it('after a crash mid-replay, a restart loses nothing and builds the same read model as a clean run', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 6, 15);
    const clean = new BalanceReadModel();
    const cleanRun = new Projection<AccountEvent>({
      name: 'clean',
      eventStore: store,
      handler: (event) => clean.apply(event),
    });
    cleanRun.start();
    await cleanRun.waitForPosition(90n);
    await cleanRun.stop();

    const checkpoints = new InMemoryCheckpointStore();
    const model = new BalanceReadModel();
    const crash = new AbortController();
    const crashed = new Projection<AccountEvent>({
      name: 'crashy',
      eventStore: store,
      checkpoints,
      batchSize: 10,
      signal: crash.signal,
      handler: (event) => {
        model.apply(event);
        if (event.position === 47n) crash.abort(new Error('killed'));
      },
    });
    const died = new Promise((resolve) => crash.signal.addEventListener('abort', resolve));
    crashed.start();
    await died;
    await crashed.stop();
    // The crash abandoned the batch 41..50: its writes happened up to 47, its checkpoint did not.
    expect(await checkpoints.load('crashy')).toBe(40n);
    expect(model.applied).toBe(47);

    const restarted = new Projection<AccountEvent>({
      name: 'crashy',
      eventStore: store,
      checkpoints,
      batchSize: 10,
      handler: (event) => model.apply(event),
    });
    restarted.start();
    await restarted.waitForPosition(90n);
    await restarted.stop();
    expect(model.snapshot()).toEqual(clean.snapshot());
    expect(model.applied).toBe(90);
  });
});

describe('Projection: failures', () => {
  it('retries a failing handler with backoff and does not park an event that recovers', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 1, 3);
    const attempts: number[] = [];
    let failures = 2;
    const parked = new InMemoryParkedEventStore();
    const projection = new Projection({
      name: 'retry',
      eventStore: store,
      parked,
      retry: { maxAttempts: 3, backoff: { initialDelayMs: 30, jitter: false } },
      handler: (event) => {
        attempts.push(Date.now());
        if (event.version === 2 && failures-- > 0) throw new Error('flaky');
      },
    });
    projection.start();
    await projection.waitForPosition(3n);
    await projection.stop();
    expect(attempts).toHaveLength(5);
    // Attempts on the flaky event: waits of 30 ms then 60 ms.
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(25);
    expect(attempts[3]! - attempts[2]!).toBeGreaterThanOrEqual(55);
    expect(await parked.list('retry')).toEqual([]);
  });

  it('parks a poison event with its error and projects the rest of the log', async () => {
    const store = new InMemoryEventStore();
    const ids = await seed(store, 4, 5);
    const poison = (await readAllEvents(store))[9]!;
    const parked = new InMemoryParkedEventStore();
    const reported: ParkedEvent[] = [];
    const seen: bigint[] = [];
    const projection = new Projection({
      name: 'poison',
      eventStore: store,
      parked,
      batchSize: 6,
      retry: { maxAttempts: 3, backoff: { initialDelayMs: 1 } },
      onParked: (event) => reported.push(event),
      handler: (event) => {
        if (event.eventId === poison.eventId) throw new TypeError('cannot read amount');
        seen.push(event.position);
      },
    });
    projection.start();
    await projection.waitForPosition(20n);
    await projection.stop();
    expect(seen).toHaveLength(19);
    expect(seen).not.toContain(poison.position);
    const list = await projection.listParked();
    expect(list).toEqual([
      expect.objectContaining({
        subscriptionId: 'poison',
        position: poison.position,
        eventId: poison.eventId,
        streamId: poison.streamId,
        eventType: poison.type,
        error: 'TypeError: cannot read amount',
        attempts: 3,
      }),
    ]);
    expect(reported).toEqual(list);
    expect(ids).toContain(poison.streamId);
  });

  it('retries a store failure outside the handler and carries on', async () => {
    const store = new InMemoryEventStore();
    await seed(store, 1, 3);
    const checkpoints: CheckpointStore = new InMemoryCheckpointStore();
    let failSaves = 1;
    const save = checkpoints.saveIf!.bind(checkpoints);
    checkpoints.saveIf = async (...args) => {
      if (failSaves-- > 0) throw new Error('connection reset');
      return save(...args);
    };
    const errors: unknown[] = [];
    const seen: bigint[] = [];
    const projection = new Projection({
      name: 'infra',
      eventStore: store,
      checkpoints,
      onError: (error) => errors.push(error),
      handler: (event) => void seen.push(event.position),
    });
    projection.start();
    await projection.waitForPosition(3n);
    await projection.stop();
    expect(errors).toHaveLength(1);
    // At-least-once: the batch whose checkpoint failed was handled again.
    expect(seen).toEqual([1n, 2n, 3n, 1n, 2n, 3n]);
  });
});

describe('Projection: options', () => {
  it('refuses the old name of readModel, `store`, saying what it is called now', () => {
    const eventStore = new InMemoryEventStore();
    const readModel = checkpointProjectionStore(
      new InMemoryCheckpointStore(),
      new InMemoryParkedEventStore(),
    );
    const options = { name: 'renamed', eventStore, store: readModel, handler: () => undefined };
    let caught: unknown;
    try {
      new Projection(options as unknown as ConstructorParameters<typeof Projection>[0]);
    } catch (error) {
      caught = error;
    }
    expect(isInvalidArgumentError(caught)).toBe(true);
    expect((caught as Error).message).toContain('readModel');
  });
});
