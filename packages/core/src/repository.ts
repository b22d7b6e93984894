import { type EventOfAggregate, type EventSourcedAggregate, isSnapshotCapable } from './aggregate.js';
import { AggregateNotFoundError, InvalidArgumentError } from './errors.js';
import type { AppendResult, EventStore } from './event-store.js';
import type { DomainEvent, EventMetadata } from './events.js';
import { type RetryOptions, retryOnConcurrencyConflict } from './retry.js';
import type { Snapshot, SnapshotCapable } from './snapshot.js';
import {
  assertUsableSnapshot,
  type RepositorySnapshotOptions,
  type ResolvedSnapshotOptions,
  resolveSnapshotOptions,
  type SnapshotMark,
  type SnapshotProblem,
  wantsSnapshot,
} from './snapshot-policy.js';
import { type LoadReport, StoreTelemetry, type TelemetryOptions } from './telemetry.js';
import { isInstrumentedEventStore } from './telemetry-store.js';
import { assertStreamId } from './validation.js';

/** Any aggregate; the repository's type parameter is bounded by this. */
export type AnyAggregate = EventSourcedAggregate<DomainEvent>;

/**
 * What an {@link EventSourcedRepository} needs: the event store, a factory for empty aggregates,
 * and optionally a stream prefix (defaults to `""`) and snapshot settings (defaults to none: every
 * load replays the whole stream).
 *
 * @example
 * const accounts = new EventSourcedRepository<BankAccount>({
 *   eventStore,
 *   factory: (id) => new BankAccount(id),
 *   streamPrefix: 'account-',
 * });
 */
export interface RepositoryOptions<T extends AnyAggregate> {
  /** Where the aggregates' events are read from and appended to. */
  readonly eventStore: EventStore;
  /** Creates an empty aggregate for an id; loading applies its history to it. */
  readonly factory: (id: string) => T;
  /** Prepended to aggregate ids to form stream ids, e.g. `"account-"`. Defaults to `""`. */
  readonly streamPrefix?: string;
  /** Snapshot store, strategy and serializer. Defaults to no snapshots. */
  readonly snapshots?: RepositorySnapshotOptions<T>;
  /**
   * OpenTelemetry: loads run in an `es.stream.load` span and saves in an `es.append` span with the
   * append metrics (see docs/telemetry.md), through the global providers by default. `false` turns
   * it off. Over a store from `instrumentEventStore`, saves are traced by the store only.
   */
  readonly telemetry?: TelemetryOptions | false;
}

/** Options of `EventSourcedRepository.save`. */
export interface SaveOptions {
  /** Merged into the metadata of every event saved (e.g. correlation and causation ids). */
  readonly metadata?: EventMetadata;
}

// What loading the latest snapshot gave: nothing to start from (`stale` when there was one but it
// cannot be used), or an aggregate restored from it.
type SnapshotStart<T> =
  | { readonly restored: false; readonly stale: boolean }
  | { readonly restored: true; readonly aggregate: T; readonly snapshot: Snapshot };

/**
 * Loads aggregates by replaying their stream (from the latest snapshot when configured) and saves
 * their new events with optimistic concurrency.
 *
 * With snapshots, `getById` restores the latest usable snapshot and reads only the events after
 * it; `save` asks the strategy after the events are committed and snapshots then. A snapshot that
 * fails to load, restore or save never fails the operation: it is reported to `onError` and the
 * aggregate is rebuilt from its events.
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
  readonly #snapshots: ResolvedSnapshotOptions<T> | undefined;
  // Which snapshot each loaded instance is based on, so the strategy can count events since it.
  readonly #marks = new WeakMap<T, SnapshotMark>();
  readonly #pendingSnapshots = new Set<Promise<void>>();
  readonly #telemetry: StoreTelemetry | undefined;
  // The store traces its own appends (instrumentEventStore): the repository does not repeat them.
  readonly #storeTracesAppends: boolean;

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
    this.#telemetry = options.telemetry === false ? undefined : new StoreTelemetry(options.telemetry);
    this.#storeTracesAppends = isInstrumentedEventStore(options.eventStore);
  }

  /** True when this repository reads and takes snapshots. */
  get snapshotsEnabled(): boolean {
    return this.#snapshots !== undefined;
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
    if (!this.#telemetry) return this.#find(id, streamId, undefined);
    return this.#telemetry.traceLoad(streamId, (report) => this.#find(id, streamId, report));
  }

  async #find(id: string, streamId: string, report: LoadReport | undefined): Promise<T | undefined> {
    const start = await this.#restoreLatestSnapshot(id, streamId);
    if (!start.restored) return this.#loadFromEvents(id, streamId, start.stale, report);
    const loaded = await this.#loadAfterSnapshot(start.aggregate, start.snapshot, streamId, report);
    return loaded ?? this.#loadFromEvents(id, streamId, true, report);
  }

  /**
   * Appends the aggregate's uncommitted events, expecting the stream at the version it was loaded
   * at. Throws `ConcurrencyConflictError` when someone else wrote first. Then takes a snapshot if
   * the strategy asks for one; a snapshot failure is reported to `onError`, never thrown.
   *
   * After `EventStoreUnavailableError` the outcome is unknown (the events may be committed). Calling
   * `save` again on the same instance (same options) is safe: its events carry ids fixed when they
   * were raised, so the store recognises a retried append and writes nothing twice.
   */
  async save(aggregate: T, options: SaveOptions = {}): Promise<AppendResult | undefined> {
    const pending = aggregate.getUncommittedEvents();
    if (pending.length === 0) return undefined;
    const streamId = this.streamIdFor(aggregate.id);
    const events = options.metadata
      ? pending.map((event) => ({ ...event, metadata: { ...options.metadata, ...event.metadata } }))
      : pending;
    const expected = aggregate.version;
    const append = () => this.#store.appendEvents(streamId, expected, events);
    const result =
      this.#telemetry && !this.#storeTracesAppends
        ? await this.#telemetry.traceAppend(streamId, events.length, append, () => ({
            'es.expected_version': String(expected),
          }))
        : await append();
    aggregate.markEventsAsCommitted(result.nextVersion);
    await this.#maybeSnapshot(aggregate, streamId);
    return result;
  }

  /**
   * Loads the aggregate, runs `change` on it and saves, retrying the whole cycle on a concurrency
   * conflict. Returns the saved aggregate.
   *
   * Other errors are thrown as is. After `EventStoreUnavailableError` the outcome is unknown, and
   * calling `update` again is not a safe retry: it re-executes `change` on a fresh load (which may
   * include the committed events), so the command may take effect twice. For a command that must
   * not repeat, call `getById`, run the command, `save`, and retry only `save` on that instance.
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

  /** Waits for snapshots taken in the background. Call before shutting down. Never rejects. */
  async flushSnapshots(): Promise<void> {
    while (this.#pendingSnapshots.size > 0) await Promise.all([...this.#pendingSnapshots]);
  }

  // The latest snapshot restored into a fresh aggregate, when there is a usable one.
  async #restoreLatestSnapshot(id: string, streamId: string): Promise<SnapshotStart<T>> {
    const options = this.#snapshots;
    const aggregate = this.#factory(id);
    if (!options || !isSnapshotCapable(aggregate)) return { restored: false, stale: false };
    let snapshot: Snapshot | undefined;
    try {
      snapshot = await options.store.load(streamId);
      if (snapshot) assertUsableSnapshot(snapshot, streamId);
    } catch (error) {
      this.#report({ operation: 'load', streamId, error });
      return { restored: false, stale: snapshot !== undefined };
    }
    if (!snapshot) return { restored: false, stale: false };
    // Another shape: expected after a deploy that bumps snapshotVersion, so not reported.
    if (snapshot.snapshotVersion !== options.snapshotVersion) return { restored: false, stale: true };
    try {
      aggregate.loadFromSnapshot(options.serializer.deserialize(snapshot.state), snapshot.aggregateVersion);
    } catch (error) {
      this.#report({ operation: 'restore', streamId, error });
      return { restored: false, stale: true };
    }
    return { restored: true, aggregate, snapshot };
  }

  // Applies the events after the snapshot; `undefined` when the snapshot turns out to be unusable.
  async #loadAfterSnapshot(
    aggregate: T,
    snapshot: Snapshot,
    streamId: string,
    report: LoadReport | undefined,
  ): Promise<T | undefined> {
    const events = await this.#store.getEvents<EventOfAggregate<T>>(streamId, snapshot.aggregateVersion);
    if (events.length === 0) {
      const streamVersion = await this.#store.getStreamVersion(streamId);
      if (streamVersion < snapshot.aggregateVersion) {
        const error = new InvalidArgumentError(
          'snapshot',
          `the snapshot of "${streamId}" is at version ${snapshot.aggregateVersion} but the stream is at ` +
            `version ${streamVersion}: the snapshot store does not belong to this event store, or the ` +
            'stream was recreated. Rebuilding from events.',
        );
        this.#report({ operation: 'load', streamId, error });
        return undefined;
      }
    }
    try {
      aggregate.loadFromHistory(events);
    } catch (error) {
      // Either the restored state is wrong or an event is: a full replay tells which.
      this.#report({ operation: 'restore', streamId, error });
      return undefined;
    }
    this.#marks.set(aggregate, { version: snapshot.aggregateVersion, takenAt: snapshot.createdAt });
    if (report) {
      report.eventsRead = events.length;
      report.snapshotVersion = snapshot.aggregateVersion;
    }
    return aggregate;
  }

  async #loadFromEvents(
    id: string,
    streamId: string,
    staleSnapshot: boolean,
    report: LoadReport | undefined,
  ): Promise<T | undefined> {
    const aggregate = this.#factory(id);
    const events = await this.#store.getEvents<EventOfAggregate<T>>(streamId, 0);
    if (report) {
      report.eventsRead = events.length;
      report.snapshotVersion = undefined;
    }
    if (events.length === 0) return undefined;
    aggregate.loadFromHistory(events);
    if (staleSnapshot) this.#marks.set(aggregate, { version: 0, takenAt: undefined, stale: true });
    return aggregate;
  }

  async #maybeSnapshot(aggregate: T, streamId: string): Promise<void> {
    const options = this.#snapshots;
    if (!options || !isSnapshotCapable(aggregate)) return;
    const now = new Date();
    let wanted: boolean;
    try {
      wanted = wantsSnapshot(aggregate, this.#marks.get(aggregate), now, options.strategy);
    } catch (error) {
      this.#report({ operation: 'save', streamId, error });
      return;
    }
    if (!wanted) return;
    const taking = this.#takeSnapshot(aggregate, streamId, now, options);
    if (!options.background) return taking;
    this.#pendingSnapshots.add(taking);
    void taking.finally(() => this.#pendingSnapshots.delete(taking));
  }

  // Never rejects. The state is captured and serialized synchronously, before the first await, so a
  // background snapshot reflects the aggregate as committed even if it changes right after `save`.
  async #takeSnapshot(
    aggregate: T & SnapshotCapable,
    streamId: string,
    now: Date,
    options: ResolvedSnapshotOptions<T>,
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
      this.#report({ operation: 'save', streamId, error });
    }
  }

  #report(problem: SnapshotProblem): void {
    try {
      this.#snapshots?.onError(problem);
    } catch {
      // A failing error hook must not fail the user's operation either.
    }
  }
}
