import {
  ExpectedVersion,
  InMemoryCheckpointStore,
  InMemoryEventStore,
  InMemoryParkedEventStore,
  InMemoryPartitionLeaseStore,
  isInvalidArgumentError,
  type LeaseFence,
  type PartitionLeaseStore,
  partitionOf,
  type StoredEvent,
} from '@es/core';
import { describe, expect, it, jest } from '@jest/globals';
import {
  ConsumerGroup,
  type ConsumerGroupEventInfo,
  describeConsumerGroup,
  InMemoryHandledPositions,
  skipHandledEvents,
} from './index.js';
import { type AccountEvent, deposited, readAllEvents, seed, sleep } from './testing/test-helpers.js';

jest.setTimeout(30_000);

const quiet = { onError: () => {} };

/** Everything one test's workers share: the log, the leases and the checkpoints. */
function setup(options: { leases?: PartitionLeaseStore } = {}) {
  const eventStore = new InMemoryEventStore();
  const leases = options.leases ?? new InMemoryPartitionLeaseStore();
  const checkpoints = new InMemoryCheckpointStore();
  const parked = new InMemoryParkedEventStore();
  const handled: Array<{ worker: string; event: StoredEvent<AccountEvent>; info: ConsumerGroupEventInfo }> =
    [];
  const worker = (
    workerId: string,
    extra: Partial<{ signal: AbortSignal; heartbeatMs: number; leaseTtlMs: number; partitions: number }> = {},
  ) =>
    new ConsumerGroup<AccountEvent>({
      name: 'balances',
      partitions: extra.partitions ?? 8,
      eventStore,
      leases,
      checkpoints,
      parked,
      workerId,
      batchSize: 25,
      pollIntervalMs: 50,
      leaseTtlMs: extra.leaseTtlMs ?? 600,
      heartbeatMs: extra.heartbeatMs ?? 50,
      ...(extra.signal ? { signal: extra.signal } : {}),
      ...quiet,
      handler: (event, _context, info) => void handled.push({ worker: workerId, event, info }),
    });
  return { eventStore, leases, checkpoints, parked, handled, worker };
}

/** Per event id, how many times it was handled. */
function countsById(handled: ReadonlyArray<{ event: StoredEvent }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { event } of handled) counts.set(event.eventId, (counts.get(event.eventId) ?? 0) + 1);
  return counts;
}

/** Each stream's events were handed over in version order, with no gap (repeats allowed). */
function expectPerStreamOrder(handled: ReadonlyArray<{ event: StoredEvent }>): void {
  const reached = new Map<string, number>();
  for (const { event } of handled) {
    const at = reached.get(event.streamId) ?? 0;
    expect(event.version).toBeLessThanOrEqual(at + 1);
    reached.set(event.streamId, Math.max(at, event.version));
  }
}

describe('ConsumerGroup', () => {
  it('splits the partitions among its workers; every event is handled once, each stream in order', async () => {
    const { eventStore, handled, worker, leases } = setup();
    // Long leases: on a loaded machine a short one could lapse and move a partition mid-test.
    const workers = ['w1', 'w2', 'w3'].map((id) => worker(id, { leaseTtlMs: 10_000 }));
    for (const group of workers) group.start();
    // Wait for the assignment to settle (3 + 3 + 2), then write: each partition has one owner throughout.
    const settled = () =>
      workers
        .map((group) => group.ownedPartitions.length)
        .sort()
        .join() === '2,3,3';
    for (let i = 0; i < 300 && !settled(); i++) await sleep(20);
    expect(settled()).toBe(true);
    const owned = workers.map((group) => group.ownedPartitions);
    await seed(eventStore, 40, 10);
    await seed(eventStore, 10, 5);
    const head = (await readAllEvents(eventStore)).at(-1)!.position;
    await workers[0]!.waitForPosition(head);
    await Promise.all(workers.map((group) => group.stop()));

    const counts = countsById(handled);
    expect(counts.size).toBe(450);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expectPerStreamOrder(handled);
    // Each partition was handled by one worker only, the one owning it.
    const byPartition = new Map<number, Set<string>>();
    for (const { worker: id, info } of handled) {
      byPartition.set(info.partition, (byPartition.get(info.partition) ?? new Set()).add(id));
      expect(info.replaying).toBe(false);
    }
    expect(owned.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [partition, workersOfPartition] of byPartition) {
      const owner = `w${owned.findIndex((partitions) => partitions.includes(partition)) + 1}`;
      expect([...workersOfPartition]).toEqual([owner]);
    }
    for (const { event, info } of handled) expect(info.partition).toBe(partitionOf(event.streamId, 8));
    // A clean stop released everything and left the group.
    const description = await leases.describe('balances');
    expect(description.members).toEqual([]);
    expect(description.leases.every((lease) => lease.owner === undefined)).toBe(true);
  });

  it('hands partitions over at once when a worker stops cleanly, and rebalances when one joins', async () => {
    const { eventStore, handled, worker } = setup();
    await seed(eventStore, 20, 3);
    // Leases far longer than the test: only a clean hand-off can move a partition.
    const a = worker('a', { leaseTtlMs: 60_000, heartbeatMs: 30 });
    a.start();
    await a.waitForPosition((await readAllEvents(eventStore)).at(-1)!.position);
    expect(a.ownedPartitions).toHaveLength(8);
    const b = worker('b', { leaseTtlMs: 60_000, heartbeatMs: 30 });
    b.start();
    for (let i = 0; i < 200 && b.ownedPartitions.length < 4; i++) await sleep(20);
    expect(b.ownedPartitions).toHaveLength(4);
    expect(a.ownedPartitions).toHaveLength(4);
    await a.stop();
    for (let i = 0; i < 200 && b.ownedPartitions.length < 8; i++) await sleep(20);
    expect(b.ownedPartitions).toHaveLength(8);
    await seed(eventStore, 5, 2);
    await b.waitForPosition((await readAllEvents(eventStore)).at(-1)!.position);
    await b.stop();
    const counts = countsById(handled);
    expect(counts.size).toBe(70);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expectPerStreamOrder(handled);
  });

  it('takes a crashed worker’s partitions over when its leases lapse; nothing is skipped', async () => {
    const { eventStore, handled, worker } = setup();
    await seed(eventStore, 30, 4);
    const crash = new AbortController();
    const a = worker('a', { signal: crash.signal });
    const b = worker('b');
    a.start();
    b.start();
    for (let i = 0; i < 200 && (a.ownedPartitions.length < 4 || b.ownedPartitions.length < 4); i++)
      await sleep(20);
    crash.abort();
    await a.stop();
    await seed(eventStore, 10, 3);
    const head = (await readAllEvents(eventStore)).at(-1)!.position;
    await b.waitForPosition(head);
    expect(b.ownedPartitions).toHaveLength(8);
    await b.stop();
    const counts = countsById(handled);
    expect(counts.size).toBe(150);
    expectPerStreamOrder(handled);
  });

  it('a worker whose lease lapsed cannot commit: its late batch is refused and handled by the new owner', async () => {
    const inner = new InMemoryPartitionLeaseStore();
    let renewals = true;
    // Worker "slow" stops renewing (a long pause), so its lease lapses while its batch runs.
    const leases: PartitionLeaseStore = {
      heartbeat: (...args) => inner.heartbeat(...args),
      leave: (...args) => inner.leave(...args),
      acquire: (...args) => inner.acquire(...args),
      renew: (fence: LeaseFence, ttl: number) => (renewals ? inner.renew(fence, ttl) : Promise.resolve(true)),
      isHeld: (fence) => inner.isHeld(fence),
      release: (fence) => inner.release(fence),
      describe: (group) => inner.describe(group),
      reset: (group) => inner.reset(group),
    };
    const eventStore = new InMemoryEventStore();
    const checkpoints = new InMemoryCheckpointStore();
    await eventStore.appendEvents('only', ExpectedVersion.NoStream, [deposited(1)]);
    let release!: () => void;
    const paused = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handledBy: string[] = [];
    const common = {
      name: 'fenced',
      partitions: 1,
      eventStore,
      leases,
      checkpoints,
      pollIntervalMs: 20,
      leaseTtlMs: 200,
      heartbeatMs: 20,
      ...quiet,
    };
    const slow = new ConsumerGroup<AccountEvent>({
      ...common,
      workerId: 'slow',
      handler: async () => {
        handledBy.push('slow');
        renewals = false;
        await paused;
      },
    });
    slow.start();
    for (let i = 0; i < 100 && handledBy.length === 0; i++) await sleep(10);
    const fast = new ConsumerGroup<AccountEvent>({
      ...common,
      workerId: 'fast',
      handler: () => void handledBy.push('fast'),
    });
    fast.start();
    await fast.waitForPosition(1n);
    release();
    await sleep(100);
    expect(await checkpoints.load('fenced#0')).toBe(1n);
    expect(slow.ownedPartitions).toEqual([]);
    await Promise.all([slow.stop(), fast.stop()]);
    expect(handledBy).toEqual(['slow', 'fast']);
  });

  it('parks a poison event in its partition; it can be listed, retried after a fix, or skipped', async () => {
    const eventStore = new InMemoryEventStore();
    const leases = new InMemoryPartitionLeaseStore();
    const checkpoints = new InMemoryCheckpointStore();
    const parked = new InMemoryParkedEventStore();
    await eventStore.appendEvents('a', ExpectedVersion.NoStream, [deposited(1), deposited(13), deposited(2)]);
    await eventStore.appendEvents('b', ExpectedVersion.NoStream, [deposited(13)]);
    let fixed = false;
    const applied: number[] = [];
    const onParked = jest.fn();
    const group = new ConsumerGroup<AccountEvent>({
      name: 'poison',
      partitions: 4,
      eventStore,
      leases,
      checkpoints,
      parked,
      retry: { maxAttempts: 2, backoff: { initialDelayMs: 1, maxDelayMs: 2 } },
      pollIntervalMs: 20,
      leaseTtlMs: 500,
      heartbeatMs: 20,
      onParked,
      ...quiet,
      handler: (event) => {
        if (event.type === 'Deposited' && event.data.amount === 13 && !fixed) throw new Error('unlucky');
        if (event.type === 'Deposited') applied.push(event.data.amount);
      },
    });
    group.start();
    await group.waitForPosition(4n);
    const poisoned = await group.listParked();
    expect(poisoned.map((event) => [event.streamId, event.position, event.attempts])).toEqual([
      ['a', 2n, 2],
      ['b', 4n, 2],
    ]);
    expect(poisoned[0]!.subscriptionId).toBe(`poison#${partitionOf('a', 4)}`);
    expect(poisoned[0]!.error).toBe('Error: unlucky');
    expect(onParked).toHaveBeenCalledTimes(2);
    fixed = true;
    await group.retryParked(poisoned[0]!);
    await group.skipParked(poisoned[1]!);
    expect(await group.listParked()).toEqual([]);
    expect(applied.sort((x, y) => x - y)).toEqual([1, 2, 13]);
    const refused = await group
      .skipParked({ subscriptionId: 'other#0', position: 1n })
      .catch((error: unknown) => error);
    expect(isInvalidArgumentError(refused)).toBe(true);
    const status = await describeConsumerGroup({
      name: 'poison',
      leases,
      readModel: { load: (id) => checkpoints.load(id), listParked: (id) => parked.list(id) },
    });
    expect(status.partitions).toHaveLength(4);
    expect(status.members).toEqual([group.workerId]);
    await group.stop();
  });

  it('blue/green: a new version shadows the old one with replaying set, then takes over', async () => {
    const eventStore = new InMemoryEventStore();
    const leases = new InMemoryPartitionLeaseStore();
    const checkpoints = new InMemoryCheckpointStore();
    await seed(eventStore, 12, 5);
    const sideEffects: string[] = [];
    const readModels = { v1: new Set<string>(), v2: new Set<string>() };
    const version = (name: 'v1' | 'v2', partitions: number) =>
      new ConsumerGroup<AccountEvent>({
        name,
        partitions,
        eventStore,
        leases,
        checkpoints,
        pollIntervalMs: 20,
        leaseTtlMs: 500,
        heartbeatMs: 20,
        ...(name === 'v2' ? { previousVersion: { name: 'v1', partitions: 4 } } : {}),
        ...quiet,
        handler: (event, _context, { replaying }) => {
          readModels[name].add(event.eventId);
          if (!replaying) sideEffects.push(event.eventId);
        },
      });
    const v1 = version('v1', 4);
    v1.start();
    await v1.waitForPosition(60n);
    const v2 = version('v2', 3);
    v2.start();
    await v2.waitForPosition(60n);
    expect(readModels.v2.size).toBe(60);
    expect(v2.status().live).toBe(false);
    // While shadowing, v2 never reads past v1's progress.
    await seed(eventStore, 2, 3);
    await v1.waitForPosition(66n);
    await v2.waitForPosition(66n);
    await v1.stop();
    expect(await v2.takeOver({ timeoutMs: 5000 })).toBe(66n);
    expect(v2.status().live).toBe(true);
    await seed(eventStore, 3, 2);
    await v2.waitForPosition(72n);
    await v2.stop();
    const counts = new Map<string, number>();
    for (const id of sideEffects) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.size).toBe(72);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expect(readModels.v2.size).toBe(72);
  });

  it('refuses bad options with a clear error', () => {
    const { worker, eventStore } = setup();
    expect(() => worker('c', { heartbeatMs: 1000, leaseTtlMs: 1000 })).toThrow(/not shorter than leaseTtlMs/);
    const leases = new InMemoryPartitionLeaseStore();
    const handler = () => undefined;
    expect(() => new ConsumerGroup({ name: 'x#y', partitions: 2, eventStore, leases, handler })).toThrow(
      /"#"/,
    );
    expect(() => new ConsumerGroup({ name: 'x', partitions: 0, eventStore, leases, handler })).toThrow(
      /partitions/,
    );
    expect(
      () =>
        new ConsumerGroup({
          name: 'x',
          partitions: 2,
          eventStore,
          leases,
          handler,
          previousVersion: { name: 'x', partitions: 2 },
        }),
    ).toThrow(/another name/);
  });

  it('stops with the error when the group exists with another partition count', async () => {
    const leases = new InMemoryPartitionLeaseStore();
    await leases.heartbeat('sized', 'someone', 4, 60_000);
    const errors: unknown[] = [];
    const group = new ConsumerGroup({
      name: 'sized',
      partitions: 3,
      eventStore: new InMemoryEventStore(),
      leases,
      heartbeatMs: 10,
      onError: (error) => errors.push(error),
      handler: () => undefined,
    });
    group.start();
    await group.stopped();
    expect(isInvalidArgumentError(group.failure)).toBe(true);
    await group.stop();
  });

  it('skipHandledEvents turns an at-least-once repeat into a no-op, per stream', async () => {
    const handled = new InMemoryHandledPositions();
    const seen: bigint[] = [];
    const handle = skipHandledEvents<AccountEvent, void>((event) => void seen.push(event.position), handled);
    const event = (streamId: string, position: bigint) =>
      ({ streamId, position, eventId: `${streamId}-${position}` }) as unknown as StoredEvent<AccountEvent>;
    const info = { group: 'g', partition: 0, replaying: false };
    await handle(event('a', 1n), undefined, info);
    await handle(event('a', 3n), undefined, info);
    await handle(event('b', 2n), undefined, info);
    await handle(event('a', 3n), undefined, info);
    await handle(event('a', 1n), undefined, info);
    await handle(event('b', 4n), undefined, info);
    expect(seen).toEqual([1n, 3n, 2n, 4n]);
  });
});
