import { InvalidArgumentError } from '@es/core';
import { type MongoConnectionOptions, openConnection } from '../connection/connection.js';
import { assertCollectionName, assertIntegerOption, optionOr } from './names.js';
import {
  applyMigrations,
  DEFAULT_INDEX_BUILD_TIMEOUT_MS,
  type MigrationTargets,
  type MongoMigrationReport,
  reportOf,
} from './schema.js';

/** The collections {@link migrate} prepares: each store's `collection` option. */
export interface MongoMigrateCollections {
  /** The events collection (and `<events>_positions` beside it). Defaults to `"events"`. */
  readonly events?: string;
  /** The snapshots collection. Defaults to `"snapshots"`. */
  readonly snapshots?: string;
  /** The checkpoints collection. Defaults to `"checkpoints"`. */
  readonly checkpoints?: string;
  /** The consumer groups' leases collection. Defaults to `"consumer_groups"`. */
  readonly leases?: string;
  /** The parked events collection. Defaults to `"parked_events"`. */
  readonly parked?: string;
}

/** Options of {@link migrate}: where (as the stores take it) and which collections. */
export interface MongoMigrateOptions extends MongoConnectionOptions {
  /** The collection names, when the stores use other names than the defaults. */
  readonly collections?: MongoMigrateCollections;
  /**
   * The longest one index build may take, in milliseconds; defaults to 120,000. Building an index
   * on a collection that holds documents waits for every voting member of the replica set; past
   * the bound `migrate()` fails with `EventStoreUnavailableError` saying so.
   */
  readonly indexBuildTimeoutMs?: number;
}

/** The collection names of a migration run, checked, with the positions collection derived. */
export function migrationTargets(collections: MongoMigrateCollections = {}): MigrationTargets {
  if (typeof collections !== 'object' || collections === null) {
    throw new InvalidArgumentError('collections', 'expected an object of collection names.');
  }
  const events = optionOr(collections.events, 'events');
  const snapshots = optionOr(collections.snapshots, 'snapshots');
  const checkpoints = optionOr(collections.checkpoints, 'checkpoints');
  assertCollectionName(events, 'collections.events');
  assertCollectionName(`${events}_positions`, 'collections.events');
  assertCollectionName(snapshots, 'collections.snapshots');
  const leases = optionOr(collections.leases, 'consumer_groups');
  const parked = optionOr(collections.parked, 'parked_events');
  assertCollectionName(checkpoints, 'collections.checkpoints');
  assertCollectionName(leases, 'collections.leases');
  assertCollectionName(parked, 'collections.parked');
  return { events, positions: `${events}_positions`, snapshots, checkpoints, leases, parked };
}

/**
 * The explicit schema step: creates the collections, indexes and position counter of every store
 * from the bundled `migrations/mongo/` files, and records each applied migration. Idempotent and
 * safe to run from several processes at once. Run it at deployment (or pass `autoMigrate: true` to
 * a store); a store used before it fails with `StoreNotMigratedError`.
 *
 * @example
 * const { applied } = await migrate({ connection: 'mongodb://localhost:27017/shop?replicaSet=rs0' });
 */
export async function migrate(options: MongoMigrateOptions): Promise<MongoMigrationReport> {
  const targets = migrationTargets(options?.collections);
  const indexBuildTimeoutMs = optionOr(options?.indexBuildTimeoutMs, DEFAULT_INDEX_BUILD_TIMEOUT_MS);
  assertIntegerOption(indexBuildTimeoutMs, 'indexBuildTimeoutMs', 1, 24 * 60 * 60 * 1000);
  const connection = openConnection(options);
  try {
    return reportOf(await applyMigrations(connection.db, targets, undefined, { indexBuildTimeoutMs }));
  } finally {
    if (connection.ownsClient) await connection.client.close();
  }
}
