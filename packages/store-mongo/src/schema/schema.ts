import { EventStoreUnavailableError, StoreNotMigratedError } from '@es/core';
import type { Db, Document } from 'mongodb';
import { isMaxTimeExpiredError, wrapDriverError } from '../connection/mongo-errors.js';
import { type CollectionRole, MONGO_MIGRATIONS, type MongoMigration } from './migrations.js';

/** The collection (in the store's database) that records which migration ran on which collection. */
export const MIGRATIONS_COLLECTION = 'es_schema_migrations';

const NAMESPACE_EXISTS = 48;

/**
 * How long `migrate()` waits for one index build, unless `indexBuildTimeoutMs` says otherwise: 120 s.
 * On a populated collection MongoDB builds the index on every data-bearing member and, by default
 * (commitQuorum "votingMembers"), commits it only when every voting member has built it.
 */
export const DEFAULT_INDEX_BUILD_TIMEOUT_MS = 120_000;

/** Options of a migration run. */
export interface ApplyOptions {
  /** The bound of each index build, in milliseconds. */
  readonly indexBuildTimeoutMs?: number;
}
const INDEX_CONFLICTS = new Set([85, 86]);

interface MigrationRecord {
  _id: string;
  collection: string;
  role: string;
  version: number;
  description: string;
  checksum: string;
  appliedAt: Date;
}

/**
 * What a migration run did, as PostgreSQL's `migrate()` reports it: each migration named
 * `<collection>#<version>` (its record's `_id` in {@link MIGRATIONS_COLLECTION}).
 */
export interface MongoMigrationReport {
  /** The migrations this run applied. */
  readonly applied: readonly string[];
  /** The migrations already recorded with the same content, left alone. */
  readonly alreadyApplied: readonly string[];
}

/** The collections a migration run covers, by role. */
export type MigrationTargets = Partial<Record<CollectionRole, string>>;

/** The report of a run from its outcomes. */
export function reportOf(outcomes: readonly MigrationOutcome[]): MongoMigrationReport {
  const name = (outcome: MigrationOutcome) => `${outcome.collection}#${outcome.version}`;
  return {
    applied: outcomes.filter((outcome) => outcome.applied).map(name),
    alreadyApplied: outcomes.filter((outcome) => !outcome.applied).map(name),
  };
}

/**
 * Checks, with one read of {@link MIGRATIONS_COLLECTION}, that every migration the store needs is
 * recorded; throws `StoreNotMigratedError` naming the missing ones otherwise. A store runs it on
 * first use when automatic migration is off, so that a store nobody migrated fails at once instead
 * of writing into collections without their indexes.
 */
export async function assertMigrated(
  db: Db,
  collections: MigrationTargets,
  store: string,
  migrations: readonly MongoMigration[] = MONGO_MIGRATIONS,
): Promise<void> {
  const needed = migrations.flatMap((migration) => {
    const name = collections[migration.collection];
    return name === undefined ? [] : [`${name}#${migration.version}`];
  });
  let recorded: Set<string>;
  try {
    const records = await db
      .collection<MigrationRecord>(MIGRATIONS_COLLECTION)
      .find({ _id: { $in: needed } }, { projection: { _id: 1 } })
      .toArray();
    recorded = new Set(records.map((record) => String(record._id)));
  } catch (error) {
    throw wrapDriverError(error, 'schema check');
  }
  const missing = needed.filter((id) => !recorded.has(id));
  if (missing.length > 0) {
    throw new StoreNotMigratedError(
      `${store}: the database "${db.databaseName}" lacks the migrations ${missing.join(', ')}. Run ` +
        "migrate({ connection, database, ... }) from @es/store-mongo (or the store's migrate()) as a " +
        'user that may create collections and indexes, or pass autoMigrate: true.',
    );
  }
}

/** What {@link applyMigrations} did with one migration. */
export interface MigrationOutcome {
  readonly version: number;
  readonly collection: string;
  /** `false` when the record showed it already applied with the same content. */
  readonly applied: boolean;
}

/**
 * Applies, in version order, every migration whose role has a collection in `collections`, and
 * records each in {@link MIGRATIONS_COLLECTION}. Idempotent: an applied migration with the same
 * checksum is skipped, and every step (create collection, create indexes, seed missing documents)
 * is safe to repeat, so two processes may run it at once.
 */
export async function applyMigrations(
  db: Db,
  collections: MigrationTargets,
  migrations: readonly MongoMigration[] = MONGO_MIGRATIONS,
  options: ApplyOptions = {},
): Promise<MigrationOutcome[]> {
  const indexBuildTimeoutMs = options.indexBuildTimeoutMs ?? DEFAULT_INDEX_BUILD_TIMEOUT_MS;
  const outcomes: MigrationOutcome[] = [];
  try {
    const records = db.collection<MigrationRecord>(MIGRATIONS_COLLECTION);
    for (const migration of migrations) {
      const name = collections[migration.collection];
      if (name === undefined) continue;
      const recordId = `${name}#${migration.version}`;
      const record = await records.findOne({ _id: { $eq: recordId } });
      if (record?.checksum === migration.checksum) {
        outcomes.push({ version: migration.version, collection: name, applied: false });
        continue;
      }
      await applyOne(db, name, migration, indexBuildTimeoutMs);
      await records.updateOne(
        { _id: { $eq: recordId } },
        {
          $set: {
            collection: name,
            role: migration.collection,
            version: migration.version,
            description: migration.description,
            checksum: migration.checksum,
            appliedAt: new Date(),
          },
        },
        { upsert: true },
      );
      outcomes.push({ version: migration.version, collection: name, applied: true });
    }
  } catch (error) {
    throw wrapDriverError(error, 'schema migration');
  }
  return outcomes;
}

async function applyOne(
  db: Db,
  name: string,
  migration: MongoMigration,
  indexBuildTimeoutMs: number,
): Promise<void> {
  await db.createCollection(name).catch((error: { code?: unknown }) => {
    if (error?.code !== NAMESPACE_EXISTS) throw error;
  });
  const collection = db.collection<Document>(name);
  if (migration.createIndexes.length > 0) {
    // The command itself: the driver's createIndexes() does not pass maxTimeMS on.
    await db
      .command({
        createIndexes: name,
        indexes: migration.createIndexes.map((index) => ({ ...index, key: { ...index.key } })),
        maxTimeMS: indexBuildTimeoutMs,
      })
      .catch((error: { code?: unknown; message?: string }) => {
        if (isMaxTimeExpiredError(error))
          throw indexBuildTimedOut(name, migration, indexBuildTimeoutMs, error);
        if (!INDEX_CONFLICTS.has(error?.code as number)) throw error;
        throw new EventStoreUnavailableError(
          `Collection "${name}" already has an index that conflicts with migration ${migration.version} ` +
            `(${error.message}). Drop or rename that index, then run migrate() again.`,
          { cause: error },
        );
      });
  }
  for (const { _id, ...fields } of migration.seed) {
    await collection.updateOne({ _id: { $eq: _id } }, { $setOnInsert: fields }, { upsert: true });
  }
}

// Why an index build can outlast any bound, and what to do about it.
function indexBuildTimedOut(
  name: string,
  migration: MongoMigration,
  timeoutMs: number,
  cause: { message?: string },
): EventStoreUnavailableError {
  return new EventStoreUnavailableError(
    `Building the indexes of migration ${migration.version} on "${name}" did not finish within ` +
      `indexBuildTimeoutMs (${timeoutMs} ms): ${cause.message ?? 'MaxTimeMSExpired'}. On a collection ` +
      'that holds documents, MongoDB builds an index on every data-bearing member and commits it only ' +
      'when every voting member has built it, so one voting member that is down, lagging or slow ' +
      'holds the build. Check rs.status(), bring that member back (or wait for a large build), then ' +
      'run migrate() again; raise indexBuildTimeoutMs for a large collection.',
    { cause },
  );
}
