import {
  type CheckpointStore,
  type DomainEvent,
  type EventRegistry,
  type EventStore,
  InMemoryEventStore,
  InMemoryStorage,
  type SnapshotStore,
} from '@es/core';
import { InMemoryCheckpointStore } from '@es/replay';
import { InMemorySnapshotStore } from '@es/snapshots';

/** Where the app keeps its events, snapshots and checkpoints. */
export interface Storage {
  /** Which backend was chosen: `pglite` (embedded, the default), `postgres`, `mongodb` or `memory`. */
  readonly kind: 'pglite' | 'postgres' | 'mongodb' | 'memory';
  /** A line for the user: what the app runs on and where the data is. */
  readonly description: string;
  /** The event store, decoding with the registry given to `openStorage`. */
  readonly eventStore: EventStore;
  readonly snapshotStore: SnapshotStore;
  readonly checkpointStore: CheckpointStore;
  /** Another event store over the same data with another registry (how older code saw it), or with none (the data as stored). */
  eventStoreWith(registry: EventRegistry<DomainEvent> | undefined): EventStore;
  close(): Promise<void>;
}

export interface StorageOptions {
  /** The event types; the store refuses others and upcasts old ones on read. */
  readonly registry: EventRegistry<DomainEvent>;
  /** Where PGlite keeps its files. */
  readonly dataDir: string;
  /** The environment to read DATABASE_URL, MONGO_URL and ES_STORE from. Defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Picks the storage from the environment, so the same code runs everywhere.
 * TEMPORARY: only the in-memory store until @es/store-postgres lands.
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const storage = new InMemoryStorage();
  const eventStore = new InMemoryEventStore({ storage, registry: options.registry });
  return {
    kind: 'memory',
    description: 'the in-memory store (nothing is kept after the process exits)',
    eventStore,
    snapshotStore: new InMemorySnapshotStore(),
    checkpointStore: new InMemoryCheckpointStore(),
    eventStoreWith: (registry) => new InMemoryEventStore({ storage, registry }),
    close: () => eventStore.close(),
  };
}
