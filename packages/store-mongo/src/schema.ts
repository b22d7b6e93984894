import { EventStoreUnavailableError } from '@es/core';
import type { Db, Document } from 'mongodb';
import { type CollectionRole, MONGO_MIGRATIONS, type MongoMigration } from './migrations.js';
import { wrapDriverError } from './mongo-errors.js';

/** The collection (in the store's database) that records which migration ran on which collection. */
export const MIGRATIONS_COLLECTION = 'es_schema_migrations';

const NAMESPACE_EXISTS = 48;
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
  collections: Partial<Record<CollectionRole, string>>,
  migrations: readonly MongoMigration[] = MONGO_MIGRATIONS,
): Promise<MigrationOutcome[]> {
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
      await applyOne(db, name, migration);
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

async function applyOne(db: Db, name: string, migration: MongoMigration): Promise<void> {
  await db.createCollection(name).catch((error: { code?: unknown }) => {
    if (error?.code !== NAMESPACE_EXISTS) throw error;
  });
  const collection = db.collection<Document>(name);
  if (migration.createIndexes.length > 0) {
    await collection
      .createIndexes(migration.createIndexes.map((index) => ({ ...index, key: { ...index.key } })))
      .catch((error: { code?: unknown; message?: string }) => {
        if (!INDEX_CONFLICTS.has(error?.code as number)) throw error;
        throw new EventStoreUnavailableError(
          `Collection "${name}" already has an index that conflicts with migration ${migration.version} ` +
            `(${error.message}). Drop or rename that index, then run ensureSchema() again.`,
          { cause: error },
        );
      });
  }
  for (const { _id, ...fields } of migration.seed) {
    await collection.updateOne({ _id: { $eq: _id } }, { $setOnInsert: fields }, { upsert: true });
  }
}
