import {
  type CheckpointStore,
  type DomainEvent,
  type EventRegistry,
  type EventStore,
  InMemoryEventStore,
  type SnapshotStore,
} from '@es/core';
import { InMemoryCheckpointStore } from '@es/replay';
import { InMemorySnapshotStore } from '@es/snapshots';
import { chooseStorage, type StorageChoice, type StorageEnv } from './storage-choice.js';

/** Where the app keeps its events, snapshots and checkpoints. */
export interface Storage {
  /** Which store was chosen. */
  readonly kind: StorageChoice['kind'];
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
  /** Where PGlite keeps its files unless `ES_DATA_DIR` says otherwise. */
  readonly dataDir: string;
  /** The environment to choose from. Defaults to `process.env`. */
  readonly env?: StorageEnv;
}

/**
 * Opens the store the environment asks for (see `chooseStorage`), so the same code runs on
 * PGlite, a PostgreSQL server, MongoDB or in memory. The only file that knows which.
 * TEMPORARY: the in-memory store for every choice until @es/store-postgres lands.
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const choice = chooseStorage(options.env ?? process.env, { dataDir: options.dataDir, schema: 'bank' });
  return openInMemory(options.registry, choice.kind === 'memory' ? '' : ` (${choice.kind} is not wired yet)`);
}

function openInMemory(registry: EventRegistry<DomainEvent>, note = ''): Storage {
  const eventStore = new InMemoryEventStore({ registry });
  return {
    kind: 'memory',
    description: `the in-memory store: nothing is kept after the process exits${note}`,
    eventStore,
    snapshotStore: new InMemorySnapshotStore(),
    checkpointStore: new InMemoryCheckpointStore(),
    close: () => eventStore.close(),
  };
}
