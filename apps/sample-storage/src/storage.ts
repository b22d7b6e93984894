import { relative } from 'node:path';
import {
  type CheckpointStore,
  type DomainEvent,
  type EventRegistry,
  type EventStore,
  InMemoryCheckpointStore,
  InMemoryEventStore,
  InMemoryStorage,
  type SnapshotStore,
} from '@es/core';
import { InMemorySnapshotStore } from '@es/snapshots';
import {
  type EmbeddedDatabaseHolder,
  openEmbeddedPostgres,
  PostgresCheckpointStore,
  type PostgresConnection,
  PostgresEventStore,
  PostgresSnapshotStore,
} from '@es/store-postgres';
import pg from 'pg';
import { chooseStorage, type StorageChoice, StorageChoiceError, type StorageEnv } from './storage-choice.js';

/** Where the app keeps its events, snapshots and checkpoints. */
export interface Storage {
  /** Which store was chosen. */
  readonly kind: StorageChoice['kind'];
  /** A line for the user: what the app runs on and where the data is. */
  readonly description: string;
  /** The event store, decoding with the registry given to `openStorage`. */
  readonly eventStore: EventStore;
  readonly snapshots: SnapshotStore;
  readonly checkpoints: CheckpointStore;
  /** The PostgreSQL connection and schema, on PGlite or a server: read models can live beside the events. */
  readonly postgres?: { readonly connection: PostgresConnection; readonly schema: string };
  /** Another event store over the same data, with another registry (older code) or none (raw data). */
  eventStoreWith(registry: EventRegistry<DomainEvent> | undefined): EventStore;
  /** Closes the stores and the connection. */
  close(): Promise<void>;
}

export interface StorageOptions {
  /** The event types; the store refuses others and upcasts old ones on read. */
  readonly registry: EventRegistry<DomainEvent>;
  /** Where PGlite keeps its files unless `ES_DATA_DIR` says otherwise. */
  readonly dataDir: string;
  /** The PostgreSQL schema or MongoDB database unless `ES_SCHEMA` says otherwise. */
  readonly schema: string;
  /** The environment to choose from. Defaults to `process.env`. */
  readonly env?: StorageEnv;
  /**
   * On PGlite, how long to wait for another process that has the data folder open, in
   * milliseconds, before refusing with `EmbeddedDatabaseLockedError`. Defaults to
   * `ES_LOCK_WAIT_MS`, else 30 000: a short command queues behind another instead of failing.
   */
  readonly lockWaitMs?: number;
  /** Called once if this process has to wait for another one to close the PGlite folder. */
  readonly onLockWait?: (holder: EmbeddedDatabaseHolder) => void;
}

/** How long the sample apps wait for another process's PGlite folder by default. */
export const DEFAULT_LOCK_WAIT_MS = 30_000;

/** How long the sample apps wait for a PostgreSQL server to accept a connection. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Opens the store the environment asks for (see `chooseStorage`): PGlite in a local folder by
 * default, a PostgreSQL server with `DATABASE_URL`, MongoDB with `MONGO_URL`, or memory. This is the
 * only file that knows which; the rest of the app sees an `EventStore` and a `SnapshotStore`.
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const env = options.env ?? process.env;
  const choice = chooseStorage(env, options);
  switch (choice.kind) {
    case 'pglite': {
      // One process at a time on the folder: another one waits for it, then gets a typed error.
      const embedded = await openEmbeddedPostgres({
        dataDir: choice.dataDir,
        waitMs: options.lockWaitMs ?? lockWaitFrom(env),
        ...(options.onLockWait ? { onWait: options.onLockWait } : {}),
      });
      const where = relative(process.cwd(), choice.dataDir) || choice.dataDir;
      return openPostgres(embedded.db, choice.schema, options.registry, {
        kind: 'pglite',
        description: `PGlite (embedded PostgreSQL), data in ${where}, schema "${choice.schema}"`,
        closeConnection: () => embedded.close(),
      });
    }
    case 'postgres': {
      const pool = new pg.Pool({
        connectionString: choice.url,
        max: 4,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      });
      return openPostgres(pool, choice.schema, options.registry, {
        kind: 'postgres',
        description: `PostgreSQL at ${redact(choice.url)}, schema "${choice.schema}"`,
        closeConnection: () => pool.end(),
      });
    }
    case 'mongodb':
      return openMongo(choice.url, choice.database, options.registry);
    case 'memory':
      return openInMemory(options.registry);
  }
}

async function openPostgres(
  connection: PostgresConnection,
  schema: string,
  registry: EventRegistry<DomainEvent>,
  about: { kind: 'pglite' | 'postgres'; description: string; closeConnection: () => Promise<void> },
): Promise<Storage> {
  const eventStore = new PostgresEventStore({ connection, schema, registry });
  try {
    // Creates the schema and its tables on first use; later runs find them and do nothing.
    await eventStore.migrate();
  } catch (error) {
    await about.closeConnection();
    throw error;
  }
  const others: PostgresEventStore[] = [];
  return {
    kind: about.kind,
    description: about.description,
    postgres: { connection, schema },
    eventStore,
    snapshots: new PostgresSnapshotStore({ connection, schema }),
    checkpoints: new PostgresCheckpointStore({ connection, schema }),
    eventStoreWith(otherRegistry) {
      const store = new PostgresEventStore({ connection, schema, registry: otherRegistry });
      others.push(store);
      return store;
    },
    async close() {
      for (const store of [eventStore, ...others]) await store.close();
      await about.closeConnection();
    },
  };
}

async function openMongo(
  url: string,
  database: string,
  registry: EventRegistry<DomainEvent>,
): Promise<Storage> {
  // Loaded only when asked for, so the default path never loads the MongoDB driver.
  const { MongoClient } = await import('mongodb');
  const { MongoCheckpointStore, MongoEventStore, MongoSnapshotStore } = await import('@es/store-mongo');
  const connection = new MongoClient(url);
  // A demo opts in to automatic set-up: each store creates its collections and indexes on first
  // use (nothing connects before), and later runs find them and do nothing. A deployment would run
  // migrate({ connection, database }) as its own step instead.
  const autoMigrate = true;
  const eventStore = new MongoEventStore({ connection, database, registry, autoMigrate });
  return {
    kind: 'mongodb',
    description: `MongoDB at ${redact(url)}, database "${database}"`,
    eventStore,
    snapshots: new MongoSnapshotStore({ connection, database, autoMigrate }),
    checkpoints: new MongoCheckpointStore({ connection, database, autoMigrate }),
    eventStoreWith: (otherRegistry) =>
      new MongoEventStore({ connection, database, registry: otherRegistry, autoMigrate }),
    async close() {
      await eventStore.close();
      await connection.close();
    },
  };
}

function openInMemory(registry: EventRegistry<DomainEvent>): Storage {
  const storage = new InMemoryStorage();
  const eventStore = new InMemoryEventStore({ storage, registry });
  return {
    kind: 'memory',
    description: 'the in-memory store: nothing is kept after the process exits',
    eventStore,
    snapshots: new InMemorySnapshotStore(),
    checkpoints: new InMemoryCheckpointStore(),
    eventStoreWith: (otherRegistry) => new InMemoryEventStore({ storage, registry: otherRegistry }),
    close: () => eventStore.close(),
  };
}

function lockWaitFrom(env: StorageEnv): number {
  const text = env.ES_LOCK_WAIT_MS?.trim();
  if (!text) return DEFAULT_LOCK_WAIT_MS;
  if (!/^\d+$/.test(text))
    throw new StorageChoiceError(`ES_LOCK_WAIT_MS="${env.ES_LOCK_WAIT_MS}" is not a number of milliseconds.`);
  return Number(text);
}

// postgres://user:secret@host/db -> postgres://user:***@host/db
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
