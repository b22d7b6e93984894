import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@es/core';
import { BSON, type Document } from 'mongodb';
import events from '../../../../migrations/mongo/001_events.json' with { type: 'json' };
import positions from '../../../../migrations/mongo/002_positions.json' with { type: 'json' };
import snapshots from '../../../../migrations/mongo/003_snapshots.json' with { type: 'json' };
import checkpoints from '../../../../migrations/mongo/004_checkpoints.json' with { type: 'json' };
import eventIds from '../../../../migrations/mongo/005_event_ids.json' with { type: 'json' };
import consumerGroups from '../../../../migrations/mongo/006_consumer_groups.json' with { type: 'json' };
import parkedEvents from '../../../../migrations/mongo/007_parked_events.json' with { type: 'json' };
import eventTags from '../../../../migrations/mongo/008_event_tags.json' with { type: 'json' };

/** The collections a migration can target; each store maps them to its configured names. */
export type CollectionRole = 'events' | 'positions' | 'snapshots' | 'checkpoints' | 'leases' | 'parked';

const ROLES: readonly CollectionRole[] = [
  'events',
  'positions',
  'snapshots',
  'checkpoints',
  'leases',
  'parked',
];

/** One index a migration creates (the options `createIndexes` takes). */
export interface MongoIndexSpec {
  readonly name: string;
  readonly key: Readonly<Record<string, 1 | -1>>;
  readonly unique?: boolean;
}

/**
 * One versioned schema step, from `migrations/mongo/NNN_<name>.json` (bundled into the package):
 * the collection it targets, the indexes it creates and the documents it seeds if missing.
 */
export interface MongoMigration {
  readonly version: number;
  readonly collection: CollectionRole;
  readonly description: string;
  readonly createIndexes: readonly MongoIndexSpec[];
  /** Documents inserted when no document with their `_id` exists (Extended JSON in the file). */
  readonly seed: readonly Document[];
  /** SHA-256 of the file's JSON, recorded when applied. */
  readonly checksum: string;
}

/** Validates a migration file's content; `source` names it in error messages. */
export function parseMigration(raw: unknown, source: string): MongoMigration {
  const fail = (reason: string): never => {
    throw new InvalidArgumentError(`migration ${source}`, reason);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('expected a JSON object.');
  const file = raw as Record<string, unknown>;
  const { version, collection, description } = file;
  if (!Number.isSafeInteger(version) || (version as number) < 1)
    fail('"version" must be a positive integer.');
  if (!ROLES.includes(collection as CollectionRole)) fail(`"collection" must be one of ${ROLES.join(', ')}.`);
  if (typeof description !== 'string' || description.length === 0) fail('"description" must be a string.');
  const indexes = file.createIndexes ?? [];
  if (!Array.isArray(indexes)) return fail('"createIndexes" must be an array.');
  const seed = file.seed ?? [];
  if (!Array.isArray(seed)) return fail('"seed" must be an array.');
  return {
    version: version as number,
    collection: collection as CollectionRole,
    description: description as string,
    createIndexes: indexes.map((index, i) => parseIndex(index, `${source} createIndexes[${i}]`)),
    seed: seed.map((document, i) => parseSeed(document, `${source} seed[${i}]`)),
    checksum: createHash('sha256').update(JSON.stringify(raw)).digest('hex'),
  };
}

function parseIndex(raw: unknown, source: string): MongoIndexSpec {
  const index = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const { name, key, unique } = index;
  const keyEntries = typeof key === 'object' && key !== null ? Object.entries(key) : [];
  if (typeof name !== 'string' || !/^[A-Za-z0-9_]+$/.test(name)) {
    throw new InvalidArgumentError(source, '"name" must be letters, digits and "_".');
  }
  if (keyEntries.length === 0 || keyEntries.some(([, direction]) => direction !== 1 && direction !== -1)) {
    throw new InvalidArgumentError(source, '"key" must map field names to 1 or -1.');
  }
  if (unique !== undefined && typeof unique !== 'boolean') {
    throw new InvalidArgumentError(source, '"unique" must be a boolean.');
  }
  return { name, key: key as Record<string, 1 | -1>, ...(unique ? { unique } : {}) };
}

function parseSeed(raw: unknown, source: string): Document {
  const document = BSON.EJSON.deserialize(raw as Document, { relaxed: false }) as Document;
  if (typeof document !== 'object' || document === null || document._id === undefined) {
    throw new InvalidArgumentError(source, 'a seed document needs an "_id".');
  }
  return document;
}

/** Checks that versions are 1..n in order, so each is applied once and in sequence. */
export function assertMigrationSequence(migrations: readonly MongoMigration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new InvalidArgumentError(
        'migrations',
        `expected version ${index + 1} at place ${index + 1}, found ${migration.version}.`,
      );
    }
  });
}

function load(): readonly MongoMigration[] {
  const files: ReadonlyArray<[string, unknown]> = [
    ['001_events.json', events],
    ['002_positions.json', positions],
    ['003_snapshots.json', snapshots],
    ['004_checkpoints.json', checkpoints],
    ['005_event_ids.json', eventIds],
    ['006_consumer_groups.json', consumerGroups],
    ['007_parked_events.json', parkedEvents],
    ['008_event_tags.json', eventTags],
  ];
  const migrations = files.map(([name, raw]) => parseMigration(raw, name));
  assertMigrationSequence(migrations);
  return Object.freeze(migrations);
}

/** Every migration of `migrations/mongo/`, in version order. */
export const MONGO_MIGRATIONS: readonly MongoMigration[] = load();
