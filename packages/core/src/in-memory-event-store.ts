import {
  type PreparedAppend,
  prepareAppend,
  prepareConditionalAppend,
  resolveRetriedAppend,
} from './append.js';
import { decodeStoredEvent } from './decode.js';
import { AppendConditionFailedError, ConcurrencyConflictError, StoreClosedError } from './errors.js';
import { type EventQuery, matchesEventQuery, type PreparedAppendCondition } from './event-query.js';
import type { EventRegistry } from './event-registry.js';
import type {
  AppendOptions,
  AppendResult,
  AppendSubscription,
  ConditionalAppendResult,
  EventStore,
  EventStoreOptions,
  QueryReadOptions,
  QueryReadResult,
  ReadAllOptions,
  ReadByTypeOptions,
  ReadStreamOptions,
  StoreCapabilities,
} from './event-store.js';
import type { DomainEvent, NewEvent, Position, StoredEvent } from './events.js';
import { type ExpectedVersionValue, expectedVersionMismatch } from './expected-version.js';
import {
  readAllOptions,
  readByTypeArguments,
  readQueryArguments,
  readStreamArguments,
} from './read-arguments.js';
import { assertStreamId } from './validation.js';

/**
 * The data behind one or more `InMemoryEventStore`s. Sharing it lets two stores with different
 * registries (say, old and new code) read and write the same events.
 */
export class InMemoryStorage {
  // The global log: the event at position p sits at index p - 1.
  readonly log: StoredEvent[] = [];
  readonly streams = new Map<string, StoredEvent[]>();
  /** The stream of each event id a caller chose: those ids are unique across the store. */
  readonly suppliedEventIds = new Map<string, string>();
  readonly listeners = new Set<() => void>();
}

/** Options of `InMemoryEventStore`: the common `EventStoreOptions` (a registry) and the storage to use. */
export interface InMemoryEventStoreOptions extends EventStoreOptions {
  /** Share the events of another in-memory store. Defaults to a new, empty storage. */
  readonly storage?: InMemoryStorage;
}

/**
 * A complete event store in process memory, for tests and development. Appends are atomic (they
 * run without awaiting), positions are gapless, and stored events are deep-frozen copies.
 *
 * @example
 * const store = new InMemoryEventStore();
 * await store.appendEvents('account-1', ExpectedVersion.NoStream, [{ type: 'AccountOpened', data: {} }]);
 */
export class InMemoryEventStore implements EventStore {
  readonly capabilities: StoreCapabilities = {
    globalOrdering: true,
    transactions: true,
    liveNotifications: true,
    dynamicConsistencyBoundaries: true,
  };
  readonly #registry: EventRegistry<DomainEvent> | undefined;
  readonly #storage: InMemoryStorage;
  #closed = false;
  // This store's own subscriptions, removed from the shared storage on close.
  readonly #ownListeners = new Set<() => void>();

  constructor(options: InMemoryEventStoreOptions = {}) {
    this.#registry = options.registry;
    this.#storage = options.storage ?? new InMemoryStorage();
  }

  /** The events this store holds; pass it to another store to share them (see the options). */
  get storage(): InMemoryStorage {
    return this.#storage;
  }

  get #log(): StoredEvent[] {
    return this.#storage.log;
  }

  get #streams(): Map<string, StoredEvent[]> {
    return this.#storage.streams;
  }

  async appendEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    expectedVersion: ExpectedVersionValue,
    events: readonly NewEvent<E>[],
  ): Promise<AppendResult> {
    this.#assertOpen();
    const append = prepareAppend(streamId, expectedVersion, events, this.#registry, { acceptTags: true });
    return this.#write(append, undefined);
  }

  /**
   * Appends `events` if the condition holds (see `EventStore.append`). Atomic by construction: the
   * check and the write run without awaiting.
   */
  async append<E extends DomainEvent = DomainEvent>(
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ): Promise<ConditionalAppendResult> {
    this.#assertOpen();
    const append = prepareConditionalAppend(events, options, this.#registry);
    const result = this.#write(append, append.condition);
    return { ...result, streamId: append.streamId };
  }

  /** The events matching `query`, in global order, and the position read up to (see `EventStore.read`). */
  async read<E extends DomainEvent = DomainEvent>(
    query: EventQuery,
    options: QueryReadOptions = {},
  ): Promise<QueryReadResult<E>> {
    this.#assertOpen();
    const { query: prepared, afterPosition, limit } = readQueryArguments(query, options);
    const events: StoredEvent<E>[] = [];
    const head = this.#log.length;
    for (let index = Number(afterPosition); index < head; index++) {
      const event = this.#log[index]!;
      if (!matchesEventQuery(event, prepared)) continue;
      events.push(this.#decode<E>(event));
      if (events.length === limit) return { events, position: event.position };
    }
    const position = BigInt(head) > afterPosition ? BigInt(head) : afterPosition;
    return { events, position };
  }

  // The check and the write of every append, with no await in between: atomic in one process.
  #write(append: PreparedAppend, condition: PreparedAppendCondition | undefined): AppendResult {
    const { streamId } = append;
    const stream = this.#streams.get(streamId) ?? [];
    const actualVersion = stream.length;
    // A batch carrying ids the caller chose has its ids kept, as PostgreSQL indexes them (the whole
    // batch): unique across streams, and a retry when found in this stream. The ids of other
    // batches are made by the store, unique by construction, and not looked up.
    const supplied = append.mayBeRetry ? append.events : [];
    if (supplied.length > 0) {
      const ids = new Set(supplied.map((event) => event.eventId));
      for (const eventId of ids) {
        const holder = this.#storage.suppliedEventIds.get(eventId);
        if (holder !== undefined && holder !== streamId) {
          throw new ConcurrencyConflictError(
            streamId,
            append.expectedVersion,
            actualVersion,
            `event id ${eventId} is already stored in another stream; event ids chosen by callers are unique across the store`,
          );
        }
      }
      const found = stream.filter(
        (event) => ids.has(event.eventId) && this.#storage.suppliedEventIds.get(event.eventId) === streamId,
      );
      // Before the condition: a retried batch would otherwise fail on its own events.
      const original = resolveRetriedAppend(append, found, actualVersion);
      if (original) return original;
    }
    const mismatch = expectedVersionMismatch(append.expectedVersion, actualVersion);
    if (mismatch)
      throw new ConcurrencyConflictError(streamId, append.expectedVersion, actualVersion, mismatch);
    if (condition) {
      for (let index = Number(condition.afterPosition); index < this.#log.length; index++) {
        const event = this.#log[index]!;
        if (matchesEventQuery(event, condition.query)) {
          throw new AppendConditionFailedError(condition.condition, event.position);
        }
      }
    }

    const timestamp = new Date();
    const stored = append.events.map((event, index) =>
      deepFreeze({
        ...structuredClone(event),
        streamId,
        version: actualVersion + index + 1,
        position: BigInt(this.#log.length + index + 1),
        timestamp,
      }),
    );
    for (const event of stored) this.#log.push(event);
    for (const event of supplied) this.#storage.suppliedEventIds.set(event.eventId, streamId);
    this.#streams.set(streamId, stream.concat(stored));
    this.#notify();
    const last = stored[stored.length - 1]!;
    return { nextVersion: last.version, lastPosition: last.position };
  }

  async getEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    fromVersion = 0,
    options: ReadStreamOptions = {},
  ): Promise<StoredEvent<E>[]> {
    this.#assertOpen();
    const { toVersion, limit } = readStreamArguments(streamId, fromVersion, options);
    const stream = this.#streams.get(streamId) ?? [];
    return stream
      .slice(fromVersion, toVersion)
      .slice(0, limit)
      .map((event) => this.#decode<E>(event));
  }

  async getEventsByType<E extends DomainEvent = DomainEvent>(
    eventType: E['type'] | readonly E['type'][],
    fromTimestamp?: Date,
    options: ReadByTypeOptions = {},
  ): Promise<StoredEvent<E>[]> {
    this.#assertOpen();
    const { types, since, afterPosition, limit } = readByTypeArguments(eventType, fromTimestamp, options);
    const result: StoredEvent<E>[] = [];
    for (let index = Number(afterPosition); index < this.#log.length && result.length < limit; index++) {
      const event = this.#log[index]!;
      if (types.has(event.type) && event.timestamp >= since) result.push(this.#decode<E>(event));
    }
    return result;
  }

  getAllEvents<E extends DomainEvent = DomainEvent>(
    fromPosition: Position = 0n,
    options: ReadAllOptions = {},
  ): AsyncIterable<StoredEvent<E>> {
    const resolved = readAllOptions(fromPosition, options);
    return this.#readAll<E>(fromPosition, resolved);
  }

  async *#readAll<E extends DomainEvent>(
    fromPosition: Position,
    options: ReturnType<typeof readAllOptions>,
  ): AsyncGenerator<StoredEvent<E>> {
    this.#assertOpen();
    let cursor = Number(fromPosition);
    const end = () =>
      Math.min(this.#log.length, options.toPosition === undefined ? Infinity : Number(options.toPosition));
    while (cursor < end()) {
      options.signal?.throwIfAborted();
      // One batch at a time, like a database cursor: events appended meanwhile are still seen.
      const batch: StoredEvent<E>[] = [];
      while (cursor < end() && batch.length < options.batchSize) {
        const event = this.#log[cursor++]!;
        if (!options.eventTypes || options.eventTypes.has(event.type)) batch.push(this.#decode<E>(event));
      }
      yield* batch;
    }
  }

  async getStreamVersion(streamId: string): Promise<number> {
    this.#assertOpen();
    assertStreamId(streamId);
    return this.#streams.get(streamId)?.length ?? 0;
  }

  async streamExists(streamId: string): Promise<boolean> {
    return (await this.getStreamVersion(streamId)) > 0;
  }

  async subscribeToAppends(listener: () => void): Promise<AppendSubscription> {
    this.#assertOpen();
    this.#storage.listeners.add(listener);
    this.#ownListeners.add(listener);
    return {
      close: async () => {
        this.#storage.listeners.delete(listener);
        this.#ownListeners.delete(listener);
      },
    };
  }

  /** Ends this store's subscriptions. Every later call fails with `StoreClosedError`; a second `close()` does nothing. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const listener of this.#ownListeners) this.#storage.listeners.delete(listener);
    this.#ownListeners.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError('InMemoryEventStore');
  }

  #notify(): void {
    // After the append's promise settles, as a database would notify after commit.
    for (const listener of this.#storage.listeners) queueMicrotask(() => callSafely(listener));
  }

  #decode<E extends DomainEvent>(event: StoredEvent): StoredEvent<E> {
    return decodeStoredEvent<E>(event, this.#registry);
  }
}

// A subscriber's bug must not crash the process: the append has committed already.
function callSafely(listener: () => void): void {
  try {
    listener();
  } catch (error) {
    console.error('[@es/core] an append subscriber threw:', error);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
