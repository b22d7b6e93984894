import type { EventRegistry } from './event-registry.js';
import type { DomainEvent, NewEvent, Position, StoredEvent } from './events.js';
import type { ExpectedVersionValue } from './expected-version.js';

/** What an adapter can do. A new capability is added here as optional, so third-party stores keep compiling. */
export interface StoreCapabilities {
  /** `getAllEvents` returns one total order that a follower resumes from without skipping (invariant 3). */
  readonly globalOrdering: boolean;
  /** Appends are atomic transactions across a batch. */
  readonly transactions: boolean;
  /** The store can wake followers after a commit (see {@link EventStore.subscribeToAppends}). */
  readonly liveNotifications: boolean;
}

/** What `appendEvents` reports. */
export interface AppendResult {
  /** The stream's version after the append: the expected version for the next append. */
  readonly nextVersion: number;
  /** Global position of the last appended event. */
  readonly lastPosition: Position;
}

/** Options of {@link EventStore.getEvents}: where to stop reading a stream. */
export interface ReadStreamOptions {
  /** Return events up to and including this version. Defaults to the end of the stream. */
  readonly toVersion?: number;
  /** At most this many events. Defaults to all. */
  readonly limit?: number;
}

/** Options of {@link EventStore.getEventsByType}: where to resume and how many events to return. */
export interface ReadByTypeOptions {
  /** Only events after this global position. Defaults to 0n. */
  readonly afterPosition?: Position;
  /** At most this many events. Defaults to all. */
  readonly limit?: number;
}

/**
 * Options of {@link EventStore.getAllEvents}: batch size, a type filter, where to stop, and a
 * signal to stop early.
 *
 * @example
 * for await (const event of store.getAllEvents(checkpoint, { eventTypes: ['Deposited'], batchSize: 100 })) {
 *   await handle(event);
 * }
 */
export interface ReadAllOptions {
  /** Events fetched per round trip. Defaults to 500. */
  readonly batchSize?: number;
  /** Only events of these types (filtered by the store's query). Defaults to all types. */
  readonly eventTypes?: readonly string[];
  /** Stop after this position (inclusive). Defaults to the end of the log when each batch is read. */
  readonly toPosition?: Position;
  /** Aborts the iteration between batches. */
  readonly signal?: AbortSignal;
}

/** A running subscription to commit notifications. */
export interface AppendSubscription {
  close(): Promise<void>;
}

/**
 * The event store contract every adapter implements: append to a stream with optimistic
 * concurrency, read a stream, read by type, and follow the global log.
 *
 * A store holds every kind of event; the read methods take the event union you expect as a type
 * parameter (checked at run time only when the store has an `EventRegistry`).
 */
export interface EventStore {
  readonly capabilities: StoreCapabilities;

  /**
   * Appends `events` to `streamId` atomically if the stream's version satisfies `expectedVersion`;
   * otherwise throws `ConcurrencyConflictError` (with the actual version) and writes nothing.
   * Events that carry an `eventId` already stored in this stream at the same place are not written
   * again: the call returns the original result, so a retry after a lost reply is safe.
   */
  appendEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    expectedVersion: ExpectedVersionValue,
    events: readonly NewEvent<E>[],
  ): Promise<AppendResult>;

  /** The stream's events with `version > fromVersion`, in version order. A missing stream gives `[]`. */
  getEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    fromVersion?: number,
    options?: ReadStreamOptions,
  ): Promise<StoredEvent<E>[]>;

  /**
   * Events of the given type(s) committed at or after `fromTimestamp`, in global order.
   * Timestamps are commit times taken from the store's clock.
   */
  getEventsByType<E extends DomainEvent = DomainEvent>(
    eventType: E['type'] | readonly E['type'][],
    fromTimestamp?: Date,
    options?: ReadByTypeOptions,
  ): Promise<StoredEvent<E>[]>;

  /**
   * Every event after `fromPosition`, in global order, fetched lazily in batches (constant memory).
   * A follower that remembers the last position it handled and calls this again from it never
   * skips nor repeats an event. To guarantee that, a store may show a just-committed event only
   * once every transaction that could still commit an earlier position has finished (PostgreSQL
   * does): the global log is complete and ordered, and may lag the streams by that much.
   */
  getAllEvents<E extends DomainEvent = DomainEvent>(
    fromPosition?: Position,
    options?: ReadAllOptions,
  ): AsyncIterable<StoredEvent<E>>;

  /** The stream's version: the version of its last event, 0 if it has none. */
  getStreamVersion(streamId: string): Promise<number>;

  streamExists(streamId: string): Promise<boolean>;

  /**
   * Calls `listener` soon after events are committed (by this process or, where the store supports
   * it, any other). Present when `capabilities.liveNotifications` is true. Notifications are hints:
   * a follower still reads from its checkpoint, so a lost one only delays it.
   */
  subscribeToAppends?(listener: () => void): Promise<AppendSubscription>;

  /** Releases connections the store opened itself. */
  close(): Promise<void>;
}

/** Options every store adapter accepts. */
export interface EventStoreOptions {
  /**
   * Decodes, validates and upcasts events. When set, appending an unregistered type fails with
   * `UnknownEventTypeError`, and reads return data in each type's newest shape.
   */
  readonly registry?: EventRegistry<DomainEvent>;
}
