import { isSnapshotCapable } from './aggregate.js';
import { InvalidArgumentError } from './errors.js';
import type { EventStore } from './event-store.js';
import type { AnyAggregate } from './repository.js';
import { EventSourcedRepository } from './repository.js';
import type { SnapshotCapable, SnapshotSerializer, SnapshotStore, SnapshotStrategy } from './snapshot.js';
import type { RepositorySnapshotOptions, SnapshotProblem } from './snapshot-policy.js';

/**
 * Whether the builder's repository will take snapshots, as far as the types can tell: `'unset'`
 * until a snapshot store or `withSnapshotsEnabled` decides, then `'on'` or `'off'`.
 */
export type SnapshotsSetting = 'unset' | 'on' | 'off';

/** What `build` requires of the aggregate when snapshots are on: `createSnapshot` and `restoreSnapshot`. */
// biome-ignore lint/suspicious/noExplicitAny: any snapshot state type is accepted
export type SnapshotRequirement<S extends SnapshotsSetting> = S extends 'on' ? SnapshotCapable<any> : unknown;

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
 * `TSnapshots` records whether snapshots are on (a snapshot store set and not turned off): `build`
 * then only accepts a factory of aggregates with `createSnapshot` and `restoreSnapshot`, since a
 * repository would otherwise never snapshot them, silently. Where the types cannot tell (a factory
 * typed loosely), the repository's factory throws `InvalidArgumentError` on its first aggregate.
 *
 * @example
 * const accounts = new EventSourcingBuilder()
 *   .withEventStore(store)
 *   .withSnapshotStore(snapshotStore)
 *   .withSnapshotStrategy(new FrequencySnapshotStrategy(100))
 *   .withSnapshotsEnabled(true)
 *   .build((id) => new BankAccount(id));
 */
export class EventSourcingBuilder<
  TStrategyAggregate = unknown,
  TSnapshots extends SnapshotsSetting = 'unset',
> {
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
  withSnapshotStore(
    store: SnapshotStore,
  ): EventSourcingBuilder<TStrategyAggregate, TSnapshots extends 'off' ? 'off' : 'on'> {
    if (typeof store?.save !== 'function' || typeof store.load !== 'function') {
      throw new InvalidArgumentError('snapshot store', 'expected a SnapshotStore (save, load, delete).');
    }
    this.#snapshotStore = store;
    return this as never;
  }

  /**
   * When to take a snapshot, e.g. `new FrequencySnapshotStrategy(100)` from `@es/snapshots`. The
   * builder remembers the aggregate type the strategy was written for: `build` then requires a
   * factory of that type (or a subtype).
   */
  withSnapshotStrategy<TAggregate>(
    strategy: SnapshotStrategy<TAggregate>,
  ): EventSourcingBuilder<TAggregate, TSnapshots> {
    if (typeof strategy?.shouldSnapshot !== 'function') {
      throw new InvalidArgumentError(
        'snapshot strategy',
        'expected an object with shouldSnapshot(decision).',
      );
    }
    this.#strategy = strategy as SnapshotStrategy<never>;
    // The same builder, now typed by the strategy's aggregate (only the type parameter changes).
    return this as unknown as EventSourcingBuilder<TAggregate, TSnapshots>;
  }

  /**
   * Turns snapshots on or off (the specification's `UseSnapshots`). Defaults to on when a snapshot
   * store is set, off otherwise; `true` without a snapshot store fails at `build`.
   */
  withSnapshotsEnabled<E extends boolean>(
    enabled: E,
  ): EventSourcingBuilder<
    TStrategyAggregate,
    boolean extends E ? TSnapshots : E extends true ? 'on' : 'off'
  > {
    if (typeof enabled !== 'boolean') {
      throw new InvalidArgumentError('snapshots enabled', `expected a boolean, got ${typeof enabled}.`);
    }
    this.#enabled = enabled;
    return this as never;
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
  build<T extends AnyAggregate & TStrategyAggregate & SnapshotRequirement<TSnapshots>>(
    factory: (id: string) => T,
  ): EventSourcedRepository<T> {
    if (!this.#eventStore) {
      throw new InvalidArgumentError('event store', 'call withEventStore(store) before build().');
    }
    if (typeof factory !== 'function') {
      throw new InvalidArgumentError('factory', 'expected a function (id) => aggregate.');
    }
    const enabled = this.#enabled ?? this.#snapshotStore !== undefined;
    return new EventSourcedRepository<T>({
      eventStore: this.#eventStore,
      factory: enabled ? snapshotCapableFactory(factory) : factory,
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

// With snapshots on, an aggregate without createSnapshot/restoreSnapshot would never be snapshotted,
// and nothing would say so: the factory refuses it instead (the types refuse it first where they can).
function snapshotCapableFactory<T extends object>(factory: (id: string) => T): (id: string) => T {
  return (id) => {
    const aggregate = factory(id);
    if (!isSnapshotCapable(aggregate)) {
      const name = (aggregate as object | null)?.constructor?.name ?? typeof aggregate;
      throw new InvalidArgumentError(
        'aggregate',
        `snapshots are on, but ${name} has no createSnapshot() and restoreSnapshot(): add them, or call withSnapshotsEnabled(false).`,
      );
    }
    return aggregate;
  };
}
