import { InvalidArgumentError } from './errors.js';
import type { EventStore } from './event-store.js';
import type { AnyAggregate, SnapshotProblem } from './repository.js';
import { EventSourcedRepository, type RepositorySnapshotOptions } from './repository.js';
import type { SnapshotSerializer, SnapshotStore, SnapshotStrategy } from './snapshot.js';

/**
 * Builds an {@link EventSourcedRepository} fluently, as in the specification. Each `with…` call
 * checks its argument at once; `build` checks that the configuration is complete.
 *
 * Snapshots are used when a snapshot store is set, unless `withSnapshotsEnabled(false)` turns them
 * off; they then need a strategy too.
 *
 * `TStrategyAggregate` is the aggregate type the snapshot strategy was written for (`unknown` until
 * `withSnapshotStrategy` sets it, and for strategies that read no aggregate field, such as
 * `FrequencySnapshotStrategy`). `build` only accepts a factory of that type, so
 * `.withSnapshotStrategy(new PredicateSnapshotStrategy<Warehouse>(…)).build((id) => new Account(id))`
 * does not compile.
 *
 * @example
 * const accounts = new EventSourcingBuilder()
 *   .withEventStore(store)
 *   .withSnapshotStore(snapshotStore)
 *   .withSnapshotStrategy(new FrequencySnapshotStrategy(100))
 *   .withSnapshotsEnabled(true)
 *   .build((id) => new BankAccount(id));
 */
export class EventSourcingBuilder<TStrategyAggregate = unknown> {
  #eventStore?: EventStore;
  #snapshotStore?: SnapshotStore;
  // Stored without its type: `build` only accepts factories of `TStrategyAggregate`.
  #strategy?: SnapshotStrategy<never>;
  #enabled?: boolean;
  #serializer?: SnapshotSerializer;
  #snapshotVersion?: number;
  #background = false;
  #onError?: (problem: SnapshotProblem) => void;
  #streamPrefix?: string;

  /** The event store the repository reads and appends to. Required. */
  withEventStore(store: EventStore): this {
    if (typeof store?.appendEvents !== 'function' || typeof store.getEvents !== 'function') {
      throw new InvalidArgumentError('event store', 'expected an EventStore (appendEvents, getEvents, …).');
    }
    this.#eventStore = store;
    return this;
  }

  /** Where snapshots are kept. Setting one turns snapshots on unless `withSnapshotsEnabled(false)`. */
  withSnapshotStore(store: SnapshotStore): this {
    if (typeof store?.save !== 'function' || typeof store.load !== 'function') {
      throw new InvalidArgumentError('snapshot store', 'expected a SnapshotStore (save, load, delete).');
    }
    this.#snapshotStore = store;
    return this;
  }

  /**
   * When to take a snapshot, e.g. `new FrequencySnapshotStrategy(100)` from `@es/snapshots`. The
   * builder remembers the aggregate type the strategy was written for: `build` then requires a
   * factory of that type (or a subtype).
   */
  withSnapshotStrategy<TAggregate>(strategy: SnapshotStrategy<TAggregate>): EventSourcingBuilder<TAggregate> {
    if (typeof strategy?.shouldSnapshot !== 'function') {
      throw new InvalidArgumentError(
        'snapshot strategy',
        'expected an object with shouldSnapshot(decision).',
      );
    }
    this.#strategy = strategy as SnapshotStrategy<never>;
    // The same builder, now typed by the strategy's aggregate (only the type parameter changes).
    return this as unknown as EventSourcingBuilder<TAggregate>;
  }

  /**
   * Turns snapshots on or off (the specification's `UseSnapshots`). Defaults to on when a snapshot
   * store is set, off otherwise; `true` without a snapshot store fails at `build`.
   */
  withSnapshotsEnabled(enabled: boolean): this {
    if (typeof enabled !== 'boolean') {
      throw new InvalidArgumentError('snapshots enabled', `expected a boolean, got ${typeof enabled}.`);
    }
    this.#enabled = enabled;
    return this;
  }

  /** Converts snapshot state to JSON and back. Defaults to plain JSON (see `JsonSnapshotSerializer`). */
  withSnapshotSerializer(serializer: SnapshotSerializer): this {
    if (typeof serializer?.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
      throw new InvalidArgumentError(
        'snapshot serializer',
        'expected serialize() and deserialize() functions.',
      );
    }
    this.#serializer = serializer;
    return this;
  }

  /** The shape version of the aggregate's snapshot state; bump it when the shape changes. Defaults to 1. */
  withSnapshotVersion(version: number): this {
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new InvalidArgumentError(
        'snapshot version',
        `expected a positive integer, got ${String(version)}.`,
      );
    }
    this.#snapshotVersion = version;
    return this;
  }

  /** Takes snapshots in the background so `save` does not wait. Defaults to false. */
  withBackgroundSnapshots(background = true): this {
    this.#background = background;
    return this;
  }

  /** Told about every snapshot failure (which never fails an operation). Defaults to `console.warn`. */
  withSnapshotErrorHandler(onError: (problem: SnapshotProblem) => void): this {
    if (typeof onError !== 'function') {
      throw new InvalidArgumentError('snapshot error handler', 'expected a function (problem) => void.');
    }
    this.#onError = onError;
    return this;
  }

  /** Prefix that turns aggregate ids into stream ids. Defaults to `""`. */
  withStreamPrefix(prefix: string): this {
    this.#streamPrefix = prefix;
    return this;
  }

  /**
   * Builds the repository; `factory` creates an empty aggregate for an id. With a strategy written
   * for one aggregate type, a factory of another type is a compile error.
   */
  build<T extends AnyAggregate & TStrategyAggregate>(factory: (id: string) => T): EventSourcedRepository<T> {
    if (!this.#eventStore) {
      throw new InvalidArgumentError('event store', 'call withEventStore(store) before build().');
    }
    const enabled = this.#enabled ?? this.#snapshotStore !== undefined;
    return new EventSourcedRepository<T>({
      eventStore: this.#eventStore,
      factory,
      streamPrefix: this.#streamPrefix,
      snapshots: enabled ? this.#snapshotOptions<T>() : undefined,
    });
  }

  #snapshotOptions<T>(): RepositorySnapshotOptions<T> {
    if (!this.#snapshotStore) {
      throw new InvalidArgumentError(
        'snapshot store',
        'snapshots are enabled: call withSnapshotStore(store), or withSnapshotsEnabled(false).',
      );
    }
    if (!this.#strategy) {
      throw new InvalidArgumentError(
        'snapshot strategy',
        'snapshots are enabled: call withSnapshotStrategy(strategy), or withSnapshotsEnabled(false).',
      );
    }
    return {
      store: this.#snapshotStore,
      strategy: this.#strategy as SnapshotStrategy<T>,
      serializer: this.#serializer,
      snapshotVersion: this.#snapshotVersion,
      background: this.#background,
      onError: this.#onError,
    };
  }
}
