import { isEventSourcingError } from '@es/core';
import { assertOptionsObject, createSqlExecutor, type PostgresConnection } from '../connection/connection.js';
import { wrapDriverError } from '../connection/driver-errors.js';
import type { SqlSession } from '../connection/sql-executor.js';
import { optionOr, quoteIdentifier, storeNames } from './identifiers.js';
import { type MigrationFile, readMigrationFiles } from './migration-files.js';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /**
   * A connection string (a pool is opened for the migration and closed after it), a `pg.Pool`, a
   * PGlite instance, or an executor from `createSqlExecutor`. One you pass stays open.
   */
  readonly connection: PostgresConnection;
  /** Schema of the event store; created if missing. Defaults to `"public"`. */
  readonly schema?: string;
  /** Name of the event table. Defaults to `"events"`. */
  readonly table?: string;
  /** Directory of `NNN_*.sql` files. Defaults to the migrations shipped with this package. */
  readonly migrationsDirectory?: string;
  /** The files to apply, instead of reading a directory (tests, bundlers without a file system). */
  readonly migrations?: readonly MigrationFile[];
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Files applied by this call, in order. */
  readonly applied: readonly string[];
  /** Files that an earlier run had already applied. */
  readonly alreadyApplied: readonly string[];
}

/** Name of the table, in the store's schema, that records applied migrations. */
export const MIGRATIONS_TABLE = 'es_migrations';

/**
 * Applies every migration file not yet applied to this schema and table, in version order, in one
 * transaction, and records each in `<schema>.es_migrations`. Idempotent, and safe when several
 * processes start at once: a transaction-scoped advisory lock per schema serialises them, and the
 * later ones find the work done.
 *
 * Each file runs with `es.schema` and `es.table` set (see the README), and `search_path` set to the
 * schema.
 *
 * @example
 * await migrate({ connection: process.env.DATABASE_URL!, schema: 'billing' });
 * await migrate({ connection: new PGlite() }); // public.events in an embedded database
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  assertOptionsObject(options, '{ connection, schema?, table?, migrationsDirectory?, migrations? }');
  const { connection } = options;
  const names = storeNames(optionOr(options.schema, 'public'), optionOr(options.table, 'events'));
  const files = options.migrations ?? readMigrationFiles(options.migrationsDirectory);
  const executor = createSqlExecutor(connection);
  try {
    return await executor.transaction((session) => applyPending(session, names.schema, names.table, files));
  } catch (error) {
    if (isEventSourcingError(error)) throw error;
    throw wrapDriverError(error, `migrate schema "${names.schema}", table "${names.table}"`);
  } finally {
    if (executor !== connection) await executor.close();
  }
}

async function applyPending(
  session: SqlSession,
  schema: string,
  table: string,
  files: readonly MigrationFile[],
): Promise<MigrateResult> {
  const migrations = `${quoteIdentifier(schema)}.${quoteIdentifier(MIGRATIONS_TABLE)}`;
  // One lock per schema: concurrent migrators of the same schema wait here, then find the work done.
  await session.query({
    text: 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))',
    values: [`@es/store-postgres migrate ${schema}`],
  });
  await session.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
  await session.exec(
    `CREATE TABLE IF NOT EXISTS ${migrations} (
       event_table text NOT NULL,
       version integer NOT NULL,
       name text NOT NULL,
       checksum text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (event_table, version))`,
  );
  const rows = await session.query<{ version: number }>({
    text: `SELECT version FROM ${migrations} WHERE event_table = $1`,
    values: [table],
  });
  const done = new Set(rows.map((row) => Number(row.version)));
  const applied: string[] = [];
  const alreadyApplied: string[] = [];
  for (const file of files) {
    if (done.has(file.version)) {
      alreadyApplied.push(file.name);
      continue;
    }
    await session.query({
      text: `SELECT set_config('es.schema', $1, true), set_config('es.table', $2, true),
                    set_config('search_path', $3, true)`,
      values: [schema, table, quoteIdentifier(schema)],
    });
    await session.exec(file.sql);
    await session.query({
      text: `INSERT INTO ${migrations} (event_table, version, name, checksum) VALUES ($1, $2, $3, $4)`,
      values: [table, file.version, file.name, file.checksum],
    });
    applied.push(file.name);
  }
  return { applied, alreadyApplied };
}
