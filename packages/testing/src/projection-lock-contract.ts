import { randomUUID } from 'node:crypto';
import type { ProjectionLease, ProjectionLock } from '@es/core';
import { afterEach, describe, expect, it, jest } from '@jest/globals';

/** Configures `describeProjectionLockContract`. */
export interface ProjectionLockContractConfig {
  /** Shown in the suite's title, e.g. "PostgresProjectionLock". */
  readonly name: string;
  /** Returns a lock no other test uses. Called once per test. */
  readonly create: () => Promise<ProjectionLock>;
  /**
   * Another handle on the same leases as `lock`, as a second process would have (e.g. a lock over
   * its own pool on the same database). Defaults to `lock` itself.
   */
  readonly contender?: (lock: ProjectionLock) => Promise<ProjectionLock>;
  /** Releases what `create` and `contender` made (close a pool). Defaults to doing nothing. */
  readonly cleanup?: (lock: ProjectionLock) => Promise<void>;
  /**
   * How long a lease outlives its holder at most (its time-to-live, or the time to notice a closed
   * connection): the contract waits past it. Defaults to 1,000 ms.
   */
  readonly leaseTtlMs?: number;
  /** Per-test timeout in ms. Defaults to 30,000. */
  readonly timeoutMs?: number;
  /** Behaviours the lock does not offer, each with the reason shown on the skipped tests. */
  readonly limitations?: ProjectionLockContractLimitations;
}

/**
 * What a `ProjectionLock` may leave out, each declared with a reason. A test of a behaviour the lock
 * does not declare as missing runs, and fails when the lock lacks it.
 */
export interface ProjectionLockContractLimitations {
  /** An abandoned lease (its signal aborted) does not end within `leaseTtlMs`. */
  readonly abandon?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The behaviour every `ProjectionLock` must show, as one jest suite: one holder at a time per
 * subscription (others get `undefined`), the lease kept alive while held, `release` letting another
 * instance acquire at once and firing `lost`, and aborting the holder's signal abandoning the lease
 * as a crash would (another instance takes over once it ends). A lock that cannot show a behaviour
 * declares it in `limitations`: its tests then show as skipped, with the reason in their title.
 *
 * @example
 * describeProjectionLockContract({ name: 'InMemoryProjectionLock', create: async () => new InMemoryProjectionLock({ ttlMs: 200 }), leaseTtlMs: 200 });
 */
export function describeProjectionLockContract(config: ProjectionLockContractConfig): void {
  describe(`ProjectionLock contract: ${config.name}`, () => {
    jest.setTimeout(config.timeoutMs ?? 30_000);
    const ttlMs = config.leaseTtlMs ?? 1000;
    const opened: ProjectionLock[] = [];
    const holders: AbortController[] = [];
    const leases: ProjectionLease[] = [];
    afterEach(async () => {
      for (const lease of leases.splice(0)) await lease.release().catch(() => undefined);
      for (const holder of holders.splice(0)) holder.abort();
      for (const lock of opened.splice(0).reverse()) await config.cleanup?.(lock);
    });
    const open = async () => {
      const lock = await config.create();
      opened.push(lock);
      const other = config.contender ? await config.contender(lock) : lock;
      if (other !== lock) opened.push(other);
      return { lock, other };
    };
    const acquire = async (lock: ProjectionLock, subscriptionId: string) => {
      const holder = new AbortController();
      holders.push(holder);
      const lease = await lock.tryAcquire(subscriptionId, holder.signal);
      if (lease) leases.push(lease);
      return { lease, holder };
    };
    const id = () => `projection-${randomUUID()}`;

    it('gives the lease to one holder at a time, per subscription', async () => {
      const { lock, other } = await open();
      const subscription = id();
      const first = await acquire(lock, subscription);
      expect(first.lease).toBeDefined();
      expect(first.lease?.lost.aborted).toBe(false);
      expect((await acquire(other, subscription)).lease).toBeUndefined();
      expect((await acquire(lock, subscription)).lease).toBeUndefined();
      expect((await acquire(other, id())).lease).toBeDefined();
    });

    it('keeps the lease while its holder lives, past its time-to-live', async () => {
      const { lock, other } = await open();
      const subscription = id();
      const { lease } = await acquire(lock, subscription);
      await sleep(ttlMs * 2);
      expect(lease?.lost.aborted).toBe(false);
      expect((await acquire(other, subscription)).lease).toBeUndefined();
    });

    it('release lets another instance acquire at once, and fires lost', async () => {
      const { lock, other } = await open();
      const subscription = id();
      const { lease } = await acquire(lock, subscription);
      if (!lease) throw new Error('the first tryAcquire should get the lease');
      const lost = new Promise<void>((resolve) => lease.lost.addEventListener('abort', () => resolve()));
      await lease.release();
      await lost;
      expect(lease.lost.aborted).toBe(true);
      expect((await acquire(other, subscription)).lease).toBeDefined();
    });

    const noAbandon = config.limitations?.abandon;
    const abandonTitle =
      'aborting the holder signal abandons the lease: another instance takes over once it ends';
    if (noAbandon) {
      it.skip(`${abandonTitle} (not run for this store: ${noAbandon})`, () => undefined);
    } else {
      it(abandonTitle, async () => {
        const { lock, other } = await open();
        const subscription = id();
        const first = await acquire(lock, subscription);
        expect(first.lease).toBeDefined();
        first.holder.abort();
        const deadline = Date.now() + ttlMs * 3 + 1000;
        let taken: ProjectionLease | undefined;
        while (!taken && Date.now() < deadline) {
          taken = (await acquire(other, subscription)).lease;
          if (!taken) await sleep(Math.max(10, Math.floor(ttlMs / 10)));
        }
        expect(taken).toBeDefined();
      });
    }
  });
}
