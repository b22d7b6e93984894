import { randomUUID } from 'node:crypto';
import type { DomainEvent, EventRegistry, EventStore, NewEvent, StoredEvent } from '@es/core';
import { afterEach } from '@jest/globals';

/** What `create` receives: options every adapter must honour. */
export interface ContractStoreOptions {
  /** The registry the store must apply on append and read. */
  readonly registry?: EventRegistry<DomainEvent>;
  /**
   * When set, the new store must read and write the same events as this one (as a second process
   * with newer code would). Adapters that cannot do this leave `sharedStorage` unset in their config.
   */
  readonly sameStorageAs?: EventStore;
}

/**
 * Behaviours an adapter cannot support, each with the reason printed in the test's name.
 * Everything not listed here runs.
 */
export interface ContractLimitations {
  /** Concurrent writers from one process (e.g. PGlite is a single session). */
  readonly concurrentWriters?: string;
  /** Opening a second store over the same storage (`sameStorageAs`). */
  readonly sharedStorage?: string;
}

/**
 * How {@link describeEventStoreContract} opens and releases the adapter's stores. `cleanup`
 * defaults to `store.close()`, `limitations` to none (every test runs), `timeoutMs` to 30,000.
 *
 * @example
 * describeEventStoreContract({
 *   name: 'MyStore',
 *   create: async ({ registry }) => MyStore.open({ database: await freshDatabase(), registry }),
 *   limitations: { sharedStorage: 'each store is its own in-process database' },
 * });
 */
export interface EventStoreContractConfig {
  /** Shown in the suite's title, e.g. "PostgresEventStore (PGlite)". */
  readonly name: string;
  /**
   * Returns a store no other test writes to: the suite asserts the exact content of the global
   * log. Called once or more per test.
   */
  readonly create: (options: ContractStoreOptions) => Promise<EventStore>;
  /** Releases what `create` made. Defaults to `store.close()`. */
  readonly cleanup?: (store: EventStore) => Promise<void>;
  /** Behaviours the adapter cannot support; their tests are skipped with the reason. Defaults to none. */
  readonly limitations?: ContractLimitations;
  /** Per-test timeout in ms. Defaults to 30,000. */
  readonly timeoutMs?: number;
}

/** Opens stores for one test and closes them after it. */
export function storeOpener(
  config: EventStoreContractConfig,
): (options?: ContractStoreOptions) => Promise<EventStore> {
  const opened: EventStore[] = [];
  afterEach(async () => {
    const stores = opened.splice(0).reverse();
    for (const store of stores) await (config.cleanup ? config.cleanup(store) : store.close());
  });
  return async (options = {}) => {
    const shared = options.sameStorageAs ? trackers.get(options.sameStorageAs) : undefined;
    const store = await config.create({ ...options, sameStorageAs: shared?.target ?? options.sameStorageAs });
    opened.push(store);
    return tracked(store, shared?.appended ?? { last: 0n });
  };
}

// What the suite knows about a store it handed to a test: the store itself (adapters' cleanup and
// sameStorageAs see the real object) and the last position appended through it or its storage.
interface Tracker {
  readonly target: EventStore;
  readonly appended: { last: bigint };
}
const trackers = new WeakMap<EventStore, Tracker>();

function tracked(target: EventStore, appended: { last: bigint }): EventStore {
  const proxy = new Proxy(target, {
    get(store, key) {
      if (key === 'appendEvents') {
        return async (...args: Parameters<EventStore['appendEvents']>) => {
          const result = await store.appendEvents(...args);
          if (result.lastPosition > appended.last) appended.last = result.lastPosition;
          return result;
        };
      }
      // A conditional append (dynamic consistency boundaries) is an append too.
      if (key === 'append' && typeof store.append === 'function') {
        return async (...args: Parameters<NonNullable<EventStore['append']>>) => {
          const result = await store.append!(...args);
          if (result.lastPosition > appended.last) appended.last = result.lastPosition;
          return result;
        };
      }
      const value: unknown = Reflect.get(store, key, store);
      return typeof value === 'function' ? value.bind(store) : value;
    },
  });
  trackers.set(proxy, { target, appended });
  return proxy;
}

/**
 * Waits until the global log shows the last event appended through `store`. A store may show the
 * newest events only once every older transaction has finished (that is how a follower never skips
 * one), so on a shared server a just-committed event can stay hidden for a moment. After 30 s it
 * returns anyway and the test's own assertion reports what is missing.
 */
export async function awaitVisible(store: EventStore): Promise<void> {
  const last = trackers.get(store)?.appended.last ?? 0n;
  if (last === 0n) return;
  const deadline = Date.now() + 30_000;
  for (;;) {
    for await (const event of store.getAllEvents(last - 1n, { batchSize: 1 })) {
      if (event.position >= last) return;
      break;
    }
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A stream id no other test uses. */
export const newStreamId = (prefix = 'stream'): string => `${prefix}-${randomUUID()}`;

export type TestEvent =
  | DomainEvent<'Opened', { owner: string }>
  | DomainEvent<'Deposited', { amount: number }>
  | DomainEvent<'Withdrawn', { amount: number }>;

export const opened = (owner = 'Ada'): NewEvent<TestEvent> => ({ type: 'Opened', data: { owner } });
export const deposited = (amount: number): NewEvent<TestEvent> => ({ type: 'Deposited', data: { amount } });
export const withdrawn = (amount: number): NewEvent<TestEvent> => ({ type: 'Withdrawn', data: { amount } });

/** Reads the whole global log into an array (fine for the small logs the contract writes). */
export async function readAll(
  store: EventStore,
  fromPosition = 0n,
  options: Parameters<EventStore['getAllEvents']>[1] = {},
): Promise<StoredEvent[]> {
  await awaitVisible(store);
  const events: StoredEvent[] = [];
  for await (const event of store.getAllEvents(fromPosition, options)) events.push(event);
  return events;
}

/** Runs `read` and turns a synchronous throw into a rejection, for argument checks done eagerly or lazily. */
export async function attempt<T>(read: () => AsyncIterable<T> | Promise<T>): Promise<unknown> {
  const result = read();
  if (Symbol.asyncIterator in Object(result)) {
    for await (const _ of result as AsyncIterable<T>) break;
    return undefined;
  }
  return result;
}

export const versionsOf = (events: readonly StoredEvent[]): number[] => events.map((event) => event.version);
