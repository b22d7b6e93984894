import type { AppendCondition, EventQuery } from './event-query.js';
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
  /**
   * Dynamic consistency boundaries: events carry `tags`, and the store has {@link EventStore.read}
   * (by query) and {@link EventStore.append} (with a condition checked atomically with the write).
   */
  readonly dynamicConsistencyBoundaries?: boolean;
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

/** Options of {@link EventStore.read}: where to resume, how many events, a signal to stop. */
export interface QueryReadOptions {
  /** Only events after this global position. Defaults to 0n. */
  readonly afterPosition?: Position;
  /** At most this many events. Defaults to all. */
  readonly limit?: number;
  /** Aborts the read. */
  readonly signal?: AbortSignal;
}

/**
 * What {@link EventStore.read} returns: the matching events, in global order, and the position the
 * read is consistent with.
 */
export interface QueryReadResult<E extends DomainEvent = DomainEvent> {
  readonly events: StoredEvent<E>[];
  /**
   * Every event matching the query after the read's `afterPosition` and at or before this position
   * is in `events`. It is the head of the log the read saw (even when nothing matched), or, when
   * `limit` cut the read short, the position of the last event returned. Pass it as an append
   * condition's `afterPosition`, or as the next read's `afterPosition`.
   */
  readonly position: Position;
}

/**
 * Options of {@link EventStore.append}: the condition to check, and the stream to write to.
 * Without `streamId` the batch goes to a stream of its own, named `$dcb-` + the id of its first
 * event, so a retry carrying the same event ids finds it.
 */
export interface AppendOptions {
  /** Fails the append, writing nothing, if an event matching the query sits after the position. */
  readonly condition?: AppendCondition;
  /** Append to this stream (its id is also a tag of its events). Defaults to a new stream per batch. */
  readonly streamId?: string;
  /** With `streamId`: the stream version to expect, as for `appendEvents`. Defaults to `ExpectedVersion.Any`. */
  readonly expectedVersion?: ExpectedVersionValue;
}

/** What {@link EventStore.append} reports: `AppendResult` and the stream the batch went to. */
export interface ConditionalAppendResult extends AppendResult {
  /** The `streamId` option, or the batch's own stream (`$dcb-` + its first event id). */
  readonly streamId: string;
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

  /**
   * The events matching `query` after `options.afterPosition`, in global order, with the position
   * the read is consistent with (see {@link QueryReadResult.position}). An event matches an item
   * of the query when its type is one of the item's `eventTypes` (if given) and it carries all of
   * the item's `tags` (if given); its stream id counts as one of its tags. Present when
   * `capabilities.dynamicConsistencyBoundaries` is true. For large results, page with `limit`
   * (or use `scanEventQuery`).
   */
  read?<E extends DomainEvent = DomainEvent>(
    query: EventQuery,
    options?: QueryReadOptions,
  ): Promise<QueryReadResult<E>>;

  /**
   * Appends `events` (with their tags) atomically, if `options.condition` holds: no event matching
   * its query sits after its position; otherwise throws `AppendConditionFailedError` and writes
   * nothing. With `streamId`, the stream's expected version is checked too. Events that carry an
   * `eventId` already stored as this batch are not written again (checked before the condition).
   * Present when `capabilities.dynamicConsistencyBoundaries` is true.
   */
  append?<E extends DomainEvent = DomainEvent>(
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ): Promise<ConditionalAppendResult>;

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
