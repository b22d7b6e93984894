import { InvalidArgumentError } from './errors.js';
import type { EventStore } from './event-store.js';
import type { AnyAggregate } from './repository.js';
import { EventSourcedRepository, type RepositorySnapshotOptions } from './repository.js';
import type { SnapshotSerializer, SnapshotStore, SnapshotStrategy } from './snapshot.js';

/**
 * Builds an {@link EventSourcedRepository} fluently, as in the specification.
 *
 * @example
 * const accounts = new EventSourcingBuilder()
 *   .withEventStore(store)
 *   .withSnapshotStore(snapshotStore)
 *   .withSnapshotStrategy(new FrequencySnapshotStrategy(100))
 *   .withSnapshotsEnabled(true)
 *   .build((id) => new BankAccount(id));
 */
export class EventSourcingBuilder {
  #eventStore?: EventStore;
  #snapshotStore?: SnapshotStore;
  #strategy?: SnapshotStrategy<never>;
  #enabled = false;
  #serializer?: SnapshotSerializer;
  #snapshotVersion?: number;
  #background = false;
  #streamPrefix?: string;

  withEventStore(store: EventStore): this {
    this.#eventStore = store;
    return this;
  }

  withSnapshotStore(store: SnapshotStore): this {
    this.#snapshotStore = store;
    return this;
  }

  /** The strategy; its aggregate type is checked when `build` is called. */
  withSnapshotStrategy(strategy: SnapshotStrategy<never>): this {
    this.#strategy = strategy;
    return this;
  }

  /** Snapshots are used only when enabled (the specification's `UseSnapshots`). Defaults to false. */
  withSnapshotsEnabled(enabled: boolean): this {
    this.#enabled = enabled;
    return this;
  }

  withSnapshotSerializer(serializer: SnapshotSerializer): this {
    this.#serializer = serializer;
    return this;
  }

  /** The shape version of the aggregate's snapshot state. Defaults to 1. */
  withSnapshotVersion(version: number): this {
    this.#snapshotVersion = version;
    return this;
  }

  /** Takes snapshots in the background so `save` does not wait. Defaults to false. */
  withBackgroundSnapshots(background = true): this {
    this.#background = background;
    return this;
  }

  /** Prefix that turns aggregate ids into stream ids. Defaults to `""`. */
  withStreamPrefix(prefix: string): this {
    this.#streamPrefix = prefix;
    return this;
  }

  build<T extends AnyAggregate>(factory: (id: string) => T): EventSourcedRepository<T> {
    if (!this.#eventStore) {
      throw new InvalidArgumentError('event store', 'call withEventStore(store) before build().');
    }
    return new EventSourcedRepository<T>({
      eventStore: this.#eventStore,
      factory,
      streamPrefix: this.#streamPrefix,
      snapshots: this.#enabled ? this.#snapshotOptions<T>() : undefined,
    });
  }

  #snapshotOptions<T>(): RepositorySnapshotOptions<T> {
    if (!this.#snapshotStore) {
      throw new InvalidArgumentError(
        'snapshot store',
        'snapshots are enabled: call withSnapshotStore(store).',
      );
    }
    if (!this.#strategy) {
      throw new InvalidArgumentError(
        'snapshot strategy',
        'snapshots are enabled: call withSnapshotStrategy(strategy).',
      );
    }
    return {
      store: this.#snapshotStore,
      strategy: this.#strategy as SnapshotStrategy<T>,
      serializer: this.#serializer,
      snapshotVersion: this.#snapshotVersion,
      background: this.#background,
    };
  }
}
