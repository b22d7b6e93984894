import { randomUUID } from 'node:crypto';
import type { ParkedEvent, ParkedEventStore, Position } from '@es/core';
import { afterEach, describe, expect, it, jest } from '@jest/globals';

/** Configures `describeParkedEventStoreContract`. */
export interface ParkedEventStoreContractConfig {
  /** Shown in the suite's title, e.g. "PostgresParkedEventStore". */
  readonly name: string;
  /** Returns a store no other test writes to. Called once or more per test. */
  readonly create: () => Promise<ParkedEventStore>;
  /** Releases what `create` made (drop a schema, close a pool). Defaults to doing nothing. */
  readonly cleanup?: (store: ParkedEventStore) => Promise<void>;
  /** Per-test timeout in ms. Defaults to 30,000. */
  readonly timeoutMs?: number;
}

/** A parked event of `subscriptionId` at `position`, with fields a store must keep exactly. */
export function parkedEventAt(
  subscriptionId: string,
  position: Position,
  overrides: Partial<ParkedEvent> = {},
): ParkedEvent {
  return {
    subscriptionId,
    position,
    eventId: randomUUID(),
    streamId: `account-${position}`,
    eventType: 'Deposited',
    error: 'Error: the read model refused it — "quotes", ünicode',
    attempts: 5,
    parkedAt: new Date('2026-03-04T05:06:07.089Z'),
    ...overrides,
  };
}

/**
 * The behaviour every `ParkedEventStore` must show, as one jest suite: `park` keeps every field
 * exactly and is idempotent per (subscription, position) (the first record stays), `list` returns a
 * subscription's parked events in position order (bigints beyond 2^53 included), `remove` forgets
 * one and is harmless for one that is not there.
 *
 * @example
 * describeParkedEventStoreContract({ name: 'InMemoryParkedEventStore', create: async () => new InMemoryParkedEventStore() });
 */
export function describeParkedEventStoreContract(config: ParkedEventStoreContractConfig): void {
  describe(`ParkedEventStore contract: ${config.name}`, () => {
    jest.setTimeout(config.timeoutMs ?? 30_000);
    const opened: ParkedEventStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0).reverse()) await config.cleanup?.(store);
    });
    const open = async () => {
      const store = await config.create();
      opened.push(store);
      return store;
    };
    const id = () => `projection-${randomUUID()}`;

    it('lists nothing for a subscription that parked nothing', async () => {
      const store = await open();
      expect(await store.list(id())).toEqual([]);
    });

    it('keeps every field of a parked event exactly', async () => {
      const store = await open();
      const event = parkedEventAt(id(), 42n);
      await store.park(event);
      expect(await store.list(event.subscriptionId)).toEqual([event]);
    });

    it('park is idempotent per subscription and position: the first record stays', async () => {
      const store = await open();
      const subscription = id();
      const first = parkedEventAt(subscription, 7n);
      await store.park(first);
      await store.park(parkedEventAt(subscription, 7n, { error: 'Error: again', attempts: 9 }));
      await store.park(first);
      expect(await store.list(subscription)).toEqual([first]);
    });

    it('lists in position order, per subscription, positions beyond 2^53 included', async () => {
      const store = await open();
      const [a, b] = [id(), id()];
      const big = 2n ** 62n + 1n;
      for (const position of [30n, big, 10n, 20n]) await store.park(parkedEventAt(a, position));
      await store.park(parkedEventAt(b, 15n));
      expect((await store.list(a)).map((event) => event.position)).toEqual([10n, 20n, 30n, big]);
      expect((await store.list(b)).map((event) => event.position)).toEqual([15n]);
    });

    it('remove forgets one parked event of one subscription, and is harmless when it is not there', async () => {
      const store = await open();
      const [a, b] = [id(), id()];
      await store.park(parkedEventAt(a, 1n));
      await store.park(parkedEventAt(a, 2n));
      await store.park(parkedEventAt(b, 1n));
      await store.remove(a, 1n);
      await store.remove(a, 99n);
      await store.remove(id(), 1n);
      expect((await store.list(a)).map((event) => event.position)).toEqual([2n]);
      expect((await store.list(b)).map((event) => event.position)).toEqual([1n]);
      // Parked again after removal, it is recorded again.
      await store.park(parkedEventAt(a, 1n));
      expect((await store.list(a)).map((event) => event.position)).toEqual([1n, 2n]);
    });
  });
}
