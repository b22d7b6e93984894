import {
  checkpointProjectionStore,
  ExpectedVersion,
  InMemoryCheckpointStore,
  InMemoryEventStore,
  InMemoryParkedEventStore,
  InMemoryPartitionLeaseStore,
  type ProjectionStore,
  StoreNotMigratedError,
} from '@es/core';
import { describe, expect, it, jest } from '@jest/globals';
import { ConsumerGroup, Projection } from './index.js';
import { type AccountEvent, deposited, sleep } from './testing/test-helpers.js';

jest.setTimeout(30_000);

const quiet = { onError: () => {} };
const retry = { maxAttempts: 2, backoff: { initialDelayMs: 1, maxDelayMs: 2 } };

/** Polls `check` until it returns a value other than undefined (or fails after 10 s). */
async function eventually<T>(check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

/** A log where the deposits of 13 fail until `fix()`; `applied` gets the amounts handled. */
async function poisonedLog() {
  const eventStore = new InMemoryEventStore();
  await eventStore.appendEvents('a', ExpectedVersion.NoStream, [deposited(1), deposited(13), deposited(2)]);
  let fixed = false;
  const applied: number[] = [];
  const handler = (event: { type: string; data: unknown }) => {
    const amount = (event.data as { amount?: number }).amount;
    if (amount === 13 && !fixed) throw new Error('unlucky');
    if (amount !== undefined) applied.push(amount);
  };
  const fix = () => {
    fixed = true;
  };
  return { eventStore, handler, applied, fix };
}

describe('retry requests for parked events', () => {
  it('a running consumer group retries a parked event an operator marked, and forgets it', async () => {
    const { eventStore, handler, applied, fix } = await poisonedLog();
    const parked = new InMemoryParkedEventStore();
    const group = new ConsumerGroup<AccountEvent>({
      name: 'requests',
      partitions: 2,
      eventStore,
      leases: new InMemoryPartitionLeaseStore(),
      checkpoints: new InMemoryCheckpointStore(),
      parked,
      retry,
      pollIntervalMs: 20,
      heartbeatMs: 20,
      ...quiet,
      handler,
    });
    group.start();
    await group.waitForPosition(3n);
    const [poison] = await group.listParked();
    expect(poison).toMatchObject({ position: 2n, attempts: 2, error: 'Error: unlucky' });
    expect(poison!.retryRequestedAt).toBeUndefined();

    // Still broken: the request is served once, then cleared, with the attempt and error recorded.
    expect(await parked.requestRetry(poison!.subscriptionId, 2n)).toBe(true);
    const failedAgain = await eventually(async () => {
      const [event] = await group.listParked();
      return event && event.attempts === 3 ? event : undefined;
    });
    expect(failedAgain.retryRequestedAt).toBeUndefined();
    expect(failedAgain.error).toBe('Error: unlucky');

    fix();
    expect(await parked.requestRetry(poison!.subscriptionId, 2n)).toBe(true);
    await eventually(async () => ((await group.listParked()).length === 0 ? true : undefined));
    expect(applied.sort((x, y) => x - y)).toEqual([1, 2, 13]);
    // Nothing parked there any more: a request is refused, not recorded.
    expect(await parked.requestRetry(poison!.subscriptionId, 2n)).toBe(false);
    await group.stop();
  });

  it('a running projection serves retry requests too', async () => {
    const { eventStore, handler, applied, fix } = await poisonedLog();
    const parked = new InMemoryParkedEventStore();
    const projection = new Projection<AccountEvent>({
      name: 'single',
      eventStore,
      checkpoints: new InMemoryCheckpointStore(),
      parked,
      retry,
      pollIntervalMs: 20,
      ...quiet,
      handler,
    });
    projection.start();
    await projection.waitForPosition(3n);
    expect((await projection.listParked()).map((event) => event.position)).toEqual([2n]);
    fix();
    await parked.requestRetry('single', 2n);
    await eventually(async () => ((await projection.listParked()).length === 0 ? true : undefined));
    expect(applied.sort((x, y) => x - y)).toEqual([1, 2, 13]);
    await projection.stop();
  });

  it('Projection.retryParked handles a parked event again in code', async () => {
    const { eventStore, handler, applied, fix } = await poisonedLog();
    const projection = new Projection<AccountEvent>({
      name: 'by-hand',
      eventStore,
      checkpoints: new InMemoryCheckpointStore(),
      parked: new InMemoryParkedEventStore(),
      retry,
      ...quiet,
      handler,
    });
    projection.start();
    await projection.waitForPosition(3n);
    await projection.stop();
    await expect(projection.retryParked(2n)).rejects.toThrow('unlucky');
    expect(await projection.listParked()).toHaveLength(1);
    fix();
    await projection.retryParked(2n);
    expect(await projection.listParked()).toEqual([]);
    expect(applied.sort((x, y) => x - y)).toEqual([1, 2, 13]);
  });

  it('a read model without retry requests, or a schema without their migration, leaves the group running', async () => {
    const { eventStore, handler } = await poisonedLog();
    const parked = new InMemoryParkedEventStore();
    const leases = new InMemoryPartitionLeaseStore();
    const full = checkpointProjectionStore(new InMemoryCheckpointStore(), parked, leases);
    // Only the ProjectionStore methods every store has.
    const plain: ProjectionStore = {
      load: full.load,
      commitBatch: full.commitBatch,
      reset: full.reset,
      listParked: full.listParked,
      removeParked: full.removeParked,
    };
    let listings = 0;
    const unmigrated: ProjectionStore = {
      ...full,
      listRetryRequests: async () => {
        listings++;
        throw new StoreNotMigratedError('column "retry_requested_at" does not exist: run migrate()');
      },
    };
    for (const [name, readModel] of [
      ['plain', plain],
      ['unmigrated', unmigrated],
    ] as const) {
      const errors: unknown[] = [];
      const group = new ConsumerGroup<AccountEvent>({
        name,
        partitions: 2,
        eventStore,
        leases,
        readModel,
        retry,
        pollIntervalMs: 20,
        heartbeatMs: 20,
        onError: (error) => errors.push(error),
        handler,
      });
      group.start();
      await group.waitForPosition(3n);
      await sleep(2_500);
      expect(await group.listParked()).toHaveLength(1);
      expect(group.failure).toBeUndefined();
      // The unmigrated schema is reported once, then not asked again.
      expect(errors.map((error) => (error as Error).name)).toEqual(
        name === 'plain' ? [] : ['StoreNotMigratedError'],
      );
      await group.stop();
    }
    expect(listings).toBe(1);
  });
});
