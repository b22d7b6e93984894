import { randomUUID } from 'node:crypto';
import { isInvalidArgumentError, type PartitionLeaseStore } from '@es/core';
import { afterEach, describe, expect, it, jest } from '@jest/globals';

/** Configures `describePartitionLeaseStoreContract`. */
export interface PartitionLeaseStoreContractConfig {
  /** Shown in the suite's title, e.g. "PostgresPartitionLeaseStore". */
  readonly name: string;
  /** Returns a lease store; tests use fresh group names, so stores may share a database. */
  readonly create: () => Promise<PartitionLeaseStore>;
  /**
   * Another handle on the same leases, as a second process would have (e.g. a store over its own
   * pool on the same database). Defaults to `store` itself.
   */
  readonly contender?: (store: PartitionLeaseStore) => Promise<PartitionLeaseStore>;
  /** Releases what `create` and `contender` made (close a pool). Defaults to doing nothing. */
  readonly cleanup?: (store: PartitionLeaseStore) => Promise<void>;
  /** Per-test timeout in ms. Defaults to 30,000. */
  readonly timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const LONG = 60_000;
const SHORT = 300;

/**
 * The behaviour every `PartitionLeaseStore` must show, as one jest suite: membership with sorted
 * live members that lapse or leave, a fixed partition count, one holder per partition among racing
 * workers, renewal keeping the token, takeover after expiry or release with a larger token, stale
 * fences refused by `renew`/`isHeld`/`release`, `describe` and `reset`.
 *
 * @example
 * describePartitionLeaseStoreContract({
 *   name: 'InMemoryPartitionLeaseStore',
 *   create: async () => new InMemoryPartitionLeaseStore(),
 * });
 */
export function describePartitionLeaseStoreContract(config: PartitionLeaseStoreContractConfig): void {
  describe(`PartitionLeaseStore contract: ${config.name}`, () => {
    jest.setTimeout(config.timeoutMs ?? 30_000);
    const opened: PartitionLeaseStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0).reverse()) await config.cleanup?.(store);
    });
    const open = async () => {
      const store = await config.create();
      opened.push(store);
      const contender = config.contender ? await config.contender(store) : store;
      if (contender !== store) opened.push(contender);
      return { store, contender };
    };
    const group = () => `group-${randomUUID()}`;

    it('lists the live members, sorted; a member that leaves or lapses is gone', async () => {
      const { store, contender } = await open();
      const name = group();
      expect(await store.heartbeat(name, 'worker-b', 4, LONG)).toEqual(['worker-b']);
      expect(await contender.heartbeat(name, 'worker-a', 4, LONG)).toEqual(['worker-a', 'worker-b']);
      expect(await store.heartbeat(name, 'worker-c', 4, SHORT)).toEqual(['worker-a', 'worker-b', 'worker-c']);
      await contender.leave(name, 'worker-a');
      await sleep(SHORT + 200);
      expect(await store.heartbeat(name, 'worker-b', 4, LONG)).toEqual(['worker-b']);
      const description = await contender.describe(name);
      expect(description.partitions).toBe(4);
      expect(description.members.map((member) => member.workerId)).toEqual(['worker-b']);
    });

    it('refuses to join with another partition count than the group has', async () => {
      const { store, contender } = await open();
      const name = group();
      await store.heartbeat(name, 'worker-a', 4, LONG);
      const refused = await contender.heartbeat(name, 'worker-b', 8, LONG).catch((error: unknown) => error);
      expect(isInvalidArgumentError(refused)).toBe(true);
      expect(String((refused as Error).message)).toContain('4 partitions');
    });

    it('gives a partition to one worker at a time; its holder renews it and keeps the token', async () => {
      const { store, contender } = await open();
      const name = group();
      await store.heartbeat(name, 'worker-a', 2, LONG);
      const lease = await store.acquire(name, 0, 'worker-a', LONG);
      expect(lease).toMatchObject({ group: name, partition: 0, owner: 'worker-a' });
      expect(typeof lease!.token).toBe('bigint');
      expect(await contender.acquire(name, 0, 'worker-b', LONG)).toBeUndefined();
      const again = await store.acquire(name, 0, 'worker-a', LONG);
      expect(again?.token).toBe(lease!.token);
      expect(await contender.renew(lease!, LONG)).toBe(true);
      expect(await contender.isHeld(lease!)).toBe(true);
      // Another partition is free.
      expect(await contender.acquire(name, 1, 'worker-b', LONG)).toMatchObject({ owner: 'worker-b' });
    });

    it('lets exactly one of many racing workers take a free partition', async () => {
      const { store, contender } = await open();
      const name = group();
      await store.heartbeat(name, 'worker-0', 1, LONG);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? store : contender).acquire(name, 0, `worker-${i}`, LONG),
        ),
      );
      const winners = results.filter((lease) => lease !== undefined);
      expect(winners).toHaveLength(1);
      const description = await store.describe(name);
      expect(description.leases.map((lease) => lease.owner)).toEqual([winners[0]!.owner]);
    });

    it('lets another worker take over a lapsed lease with a larger token; the old fence is refused', async () => {
      const { store, contender } = await open();
      const name = group();
      await store.heartbeat(name, 'worker-a', 1, LONG);
      const old = (await store.acquire(name, 0, 'worker-a', SHORT))!;
      await sleep(SHORT + 200);
      expect(await store.isHeld(old)).toBe(false);
      const taken = (await contender.acquire(name, 0, 'worker-b', LONG))!;
      expect(taken.owner).toBe('worker-b');
      expect(taken.token > old.token).toBe(true);
      expect(await store.renew(old, LONG)).toBe(false);
      expect(await store.isHeld(old)).toBe(false);
      await store.release(old);
      expect(await contender.isHeld(taken)).toBe(true);
    });

    it('a lease retaken by its own worker after it lapsed gets a new token', async () => {
      const { store } = await open();
      const name = group();
      await store.heartbeat(name, 'worker-a', 1, LONG);
      const old = (await store.acquire(name, 0, 'worker-a', SHORT))!;
      await sleep(SHORT + 200);
      const again = (await store.acquire(name, 0, 'worker-a', LONG))!;
      expect(again.token > old.token).toBe(true);
      expect(await store.isHeld(old)).toBe(false);
    });

    it('a released partition is free at once, and taken with a larger token', async () => {
      const { store, contender } = await open();
      const name = group();
      await store.heartbeat(name, 'worker-a', 1, LONG);
      const first = (await store.acquire(name, 0, 'worker-a', LONG))!;
      await store.release(first);
      expect(await store.isHeld(first)).toBe(false);
      const second = (await contender.acquire(name, 0, 'worker-b', LONG))!;
      expect(second.token > first.token).toBe(true);
      const description = await store.describe(name);
      expect(description.leases).toHaveLength(1);
      expect(description.leases[0]).toMatchObject({ partition: 0, owner: 'worker-b', token: second.token });
    });

    it('reset forgets members and owners; tokens keep growing when the group is joined again', async () => {
      const { store } = await open();
      const name = group();
      await store.heartbeat(name, 'worker-a', 2, LONG);
      const before = (await store.acquire(name, 1, 'worker-a', LONG))!;
      await store.reset(name);
      expect(await store.isHeld(before)).toBe(false);
      const description = await store.describe(name);
      expect(description.partitions).toBeUndefined();
      expect(description.members).toEqual([]);
      expect(description.leases.every((lease) => lease.owner === undefined)).toBe(true);
      // A reset group may be joined with another partition count.
      await store.heartbeat(name, 'worker-b', 3, LONG);
      const after = (await store.acquire(name, 1, 'worker-b', LONG))!;
      expect(after.token > before.token).toBe(true);
    });

    it('refuses bad arguments with InvalidArgumentError', async () => {
      const { store } = await open();
      const name = group();
      await store.heartbeat(name, 'worker-a', 2, LONG);
      for (const call of [
        () => store.heartbeat('', 'worker-a', 2, LONG),
        () => store.heartbeat(name, 'worker-a', 0, LONG),
        () => store.heartbeat(name, 'worker-a', 2, -1),
        () => store.acquire(name, -1, 'worker-a', LONG),
        () => store.acquire(name, 2, 'worker-a', LONG),
        () => store.acquire(name, 0, '', LONG),
      ]) {
        const error = await call().catch((caught: unknown) => caught);
        expect(isInvalidArgumentError(error)).toBe(true);
      }
    });
  });
}
