import {
  type CheckpointStore,
  type DomainEvent,
  type EventRegistry,
  type EventStore,
  InMemoryEventStore,
  type Position,
  type SnapshotStore,
} from '@es/core';
import { InMemorySnapshotStore } from '@es/snapshots';

/** Where the app keeps its events, snapshots and checkpoints. */
export interface Storage {
  /** Which backend was chosen: `pglite` (embedded, the default), `postgres`, `mongodb` or `memory`. */
  readonly kind: 'pglite' | 'postgres' | 'mongodb' | 'memory';
  /** A line for the user: what the app runs on and where the data is. */
  readonly description: string;
  readonly eventStore: EventStore;
  readonly snapshotStore: SnapshotStore;
  readonly checkpointStore: CheckpointStore;
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
 * TEMPORARY: only the in-memory store until @es/store-postgres and @es/snapshots land.
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const eventStore = new InMemoryEventStore({ registry: options.registry });
  return {
    kind: 'memory',
    description: 'the in-memory store (nothing is kept after the process exits)',
    eventStore,
    snapshotStore: new InMemorySnapshotStore(),
    checkpointStore: new MapCheckpointStore(),
    close: () => eventStore.close(),
  };
}

class MapCheckpointStore implements CheckpointStore {
  readonly #positions = new Map<string, Position>();
  async load(id: string): Promise<Position | undefined> {
    return this.#positions.get(id);
  }
  async save(id: string, position: Position): Promise<void> {
    this.#positions.set(id, position);
  }
  async reset(id: string): Promise<void> {
    this.#positions.delete(id);
  }
}
