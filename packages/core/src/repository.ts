import { type EventOfAggregate, type EventSourcedAggregate, isSnapshotCapable } from './aggregate.js';
import { AggregateNotFoundError, InvalidArgumentError } from './errors.js';
import type { AppendResult, EventStore } from './event-store.js';
import type { DomainEvent, EventMetadata } from './events.js';
import { type RetryOptions, retryOnConcurrencyConflict } from './retry.js';
import type { Snapshot, SnapshotSerializer, SnapshotStore, SnapshotStrategy } from './snapshot.js';
import { assertJsonSerializable, assertStreamId } from './validation.js';

/** Any aggregate; the repository's type parameter is bounded by this. */
export type AnyAggregate = EventSourcedAggregate<DomainEvent>;

/** Where a snapshot problem happened; passed to `onError`. */
export interface SnapshotProblem {
  readonly operation: 'load' | 'save' | 'restore';
  readonly streamId: string;
  readonly error: unknown;
}

export interface RepositorySnapshotOptions<T> {
  readonly store: SnapshotStore;
  readonly strategy: SnapshotStrategy<T>;
  /** Turns snapshots off without removing the configuration. Defaults to true. */
  readonly enabled?: boolean;
  /**
   * Version of the state's shape. Bump it when the aggregate's state changes shape: snapshots of
   * another version are ignored and rebuilt from events. Defaults to 1.
   */
  readonly snapshotVersion?: number;
  /** Defaults to a pass-through that requires the state to be plain JSON. */
  readonly serializer?: SnapshotSerializer;
  /** Take snapshots in the background so `save` does not wait for them. Defaults to false. */
  readonly background?: boolean;
  /**
   * Told about every snapshot failure. Snapshots never fail the user's operation: loading falls back
   * to events. Defaults to `console.warn`.
   */
  readonly onError?: (problem: SnapshotProblem) => void;
}

export interface RepositoryOptions<T extends AnyAggregate> {
  readonly eventStore: EventStore;
  /** Creates an empty aggregate for an id; loading applies its history to it. */
  readonly factory: (id: string) => T;
  /** Prepended to aggregate ids to form stream ids, e.g. `"account-"`. Defaults to `""`. */
  readonly streamPrefix?: string;
  readonly snapshots?: RepositorySnapshotOptions<T>;
}

export interface SaveOptions {
  /** Merged into the metadata of every event saved (e.g. correlation and causation ids). */
  readonly metadata?: EventMetadata;
}

interface SnapshotMark {
  readonly version: number;
  readonly takenAt: Date | undefined;
}

const jsonPassThrough: SnapshotSerializer = {
  serialize(state) {
    assertJsonSerializable(state, 'the snapshot state');
    return state;
  },
  deserialize: (value) => value,
};

const warnOnConsole = (problem: SnapshotProblem) =>
  console.warn(`[@es/core] snapshot ${problem.operation} failed for "${problem.streamId}":`, problem.error);

/**
 * Loads aggregates by replaying their stream (from the latest snapshot when configured) and saves
 * their new events with optimistic concurrency.
 *
 * @example
 * const accounts = new EventSourcedRepository({ eventStore, factory: (id) => new BankAccount(id) });
 * const account = await accounts.getById('acc-1');
 * account.deposit(100);
 * await accounts.save(account);
 */
export class EventSourcedRepository<T extends AnyAggregate> {
  readonly #store: EventStore;
  readonly #factory: (id: string) => T;
  readonly #prefix: string;
  readonly #snapshots: Required<RepositorySnapshotOptions<T>> | undefined;
  // Which snapshot each loaded instance is based on, so the strategy can count events since it.
  readonly #marks = new WeakMap<T, SnapshotMark>();
  readonly #pendingSnapshots = new Set<Promise<void>>();

  constructor(options: RepositoryOptions<T>) {
    if (!options?.eventStore)
      throw new InvalidArgumentError('eventStore', 'a repository needs an event store.');
    if (typeof options.factory !== 'function') {
      throw new InvalidArgumentError('factory', 'expected a function (id) => aggregate.');
    }
    this.#store = options.eventStore;
    this.#factory = options.factory;
    this.#prefix = options.streamPrefix ?? '';
    this.#snapshots = resolveSnapshotOptions(options.snapshots);
  }

  /** The stream id that holds the aggregate's events. */
  streamIdFor(id: string): string {
    assertStreamId(id, 'aggregate id');
    return this.#prefix + id;
  }

  /** Loads the aggregate. Throws `AggregateNotFoundError` when its stream has no events. */
  async getById(id: string): Promise<T> {
    const aggregate = await this.find(id);
    if (!aggregate) throw new AggregateNotFoundError(id);
    return aggregate;
  }

  /** Loads the aggregate, or returns `undefined` when its stream has no events. */
  async find(id: string): Promise<T | undefined> {
    const streamId = this.streamIdFor(id);
    const { aggregate, fromVersion } = await this.#startFromSnapshot(id, streamId);
    const events = await this.#store.getEvents<EventOfAggregate<T>>(streamId, fromVersion);
    if (fromVersion === 0 && events.length === 0) return undefined;
    aggregate.loadFromHistory(events);
    return aggregate;
  }

  /**
   * Appends the aggregate's uncommitted events, expecting the stream at the version it was loaded
   * at. Throws `ConcurrencyConflictError` when someone else wrote first. Then takes a snapshot if
   * the strategy asks for one; a snapshot failure is reported to `onError`, never thrown.
   */
  async save(aggregate: T, options: SaveOptions = {}): Promise<AppendResult | undefined> {
    const pending = aggregate.getUncommittedEvents();
    if (pending.length === 0) return undefined;
    const streamId = this.streamIdFor(aggregate.id);
    const events = options.metadata
      ? pending.map((event) => ({ ...event, metadata: { ...options.metadata, ...event.metadata } }))
      : pending;
    const result = await this.#store.appendEvents(streamId, aggregate.version, events);
    aggregate.markEventsAsCommitted(result.nextVersion);
    await this.#maybeSnapshot(aggregate, streamId);
    return result;
  }

  /**
   * Loads the aggregate, runs `change` on it and saves, retrying the whole cycle on a concurrency
   * conflict. Returns the saved aggregate.
   */
  async update(id: string, change: (aggregate: T) => void | Promise<void>, retry?: RetryOptions): Promise<T> {
    return retryOnConcurrencyConflict(async () => {
      const aggregate = await this.getById(id);
      await change(aggregate);
      await this.save(aggregate);
      return aggregate;
    }, retry);
  }

  /** The aggregate's stream version; 0 when it does not exist. */
  getVersion(id: string): Promise<number> {
    return this.#store.getStreamVersion(this.streamIdFor(id));
  }

  exists(id: string): Promise<boolean> {
    return this.#store.streamExists(this.streamIdFor(id));
  }

  /** Waits for snapshots taken in the background. Call before shutting down. */
  async flushSnapshots(): Promise<void> {
    while (this.#pendingSnapshots.size > 0) await Promise.all([...this.#pendingSnapshots]);
  }

  // An aggregate restored from the latest usable snapshot, or a fresh one when there is none.
  async #startFromSnapshot(id: string, streamId: string): Promise<{ aggregate: T; fromVersion: number }> {
    const aggregate = this.#factory(id);
    const options = this.#snapshots;
    if (!options || !isSnapshotCapable(aggregate)) return { aggregate, fromVersion: 0 };
    let snapshot: Snapshot | undefined;
    try {
      snapshot = await options.store.load(streamId);
    } catch (error) {
      options.onError({ operation: 'load', streamId, error });
      return { aggregate, fromVersion: 0 };
    }
    // A snapshot of another shape is ignored; the next save's strategy check re-snapshots.
    if (!snapshot || snapshot.snapshotVersion !== options.snapshotVersion)
      return { aggregate, fromVersion: 0 };
    try {
      aggregate.loadFromSnapshot(options.serializer.deserialize(snapshot.state), snapshot.aggregateVersion);
    } catch (error) {
      options.onError({ operation: 'restore', streamId, error });
      // restoreSnapshot may have half-changed the instance: start again from a fresh one.
      return { aggregate: this.#factory(id), fromVersion: 0 };
    }
    this.#marks.set(aggregate, { version: snapshot.aggregateVersion, takenAt: snapshot.createdAt });
    return { aggregate, fromVersion: snapshot.aggregateVersion };
  }

  async #maybeSnapshot(aggregate: T, streamId: string): Promise<void> {
    const options = this.#snapshots;
    if (!options || !isSnapshotCapable(aggregate)) return;
    const mark = this.#marks.get(aggregate) ?? { version: 0, takenAt: undefined };
    const now = new Date();
    const decision = {
      aggregate,
      version: aggregate.version,
      lastSnapshotVersion: mark.version,
      lastSnapshotAt: mark.takenAt,
      eventsSinceSnapshot: aggregate.version - mark.version,
      now,
    };
    if (!options.strategy.shouldSnapshot(decision)) return;
    const take = this.#takeSnapshot(aggregate, streamId, now, options);
    if (!options.background) return take;
    this.#pendingSnapshots.add(take);
    void take.finally(() => this.#pendingSnapshots.delete(take));
  }

  async #takeSnapshot(
    aggregate: T & { createSnapshot(): unknown },
    streamId: string,
    now: Date,
    options: Required<RepositorySnapshotOptions<T>>,
  ): Promise<void> {
    const version = aggregate.version;
    try {
      const state = options.serializer.serialize(aggregate.createSnapshot());
      await options.store.save({
        streamId,
        aggregateVersion: version,
        snapshotVersion: options.snapshotVersion,
        state,
        createdAt: now,
      });
      this.#marks.set(aggregate, { version, takenAt: now });
    } catch (error) {
      options.onError({ operation: 'save', streamId, error });
    }
  }
}

function resolveSnapshotOptions<T>(
  options: RepositorySnapshotOptions<T> | undefined,
): Required<RepositorySnapshotOptions<T>> | undefined {
  if (!options || options.enabled === false) return undefined;
  if (!options.store) throw new InvalidArgumentError('snapshots.store', 'snapshots need a snapshot store.');
  if (typeof options.strategy?.shouldSnapshot !== 'function') {
    throw new InvalidArgumentError('snapshots.strategy', 'snapshots need a strategy with shouldSnapshot().');
  }
  const snapshotVersion = options.snapshotVersion ?? 1;
  if (!Number.isSafeInteger(snapshotVersion) || snapshotVersion < 1) {
    throw new InvalidArgumentError(
      'snapshots.snapshotVersion',
      `expected a positive integer, got ${snapshotVersion}.`,
    );
  }
  return {
    store: options.store,
    strategy: options.strategy,
    enabled: true,
    snapshotVersion,
    serializer: options.serializer ?? jsonPassThrough,
    background: options.background ?? false,
    onError: options.onError ?? warnOnConsole,
  };
}
