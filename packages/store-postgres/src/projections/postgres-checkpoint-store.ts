import { type CheckpointStore, isEventSourcingError, type Position } from '@es/core';
import { assertPosition, assertStreamId } from '@es/core/adapter';
import {
  assertOptionsObject,
  openStoreExecutor,
  type PostgresConnection,
  type PostgresConnectionOptions,
  type StoreExecutor,
} from '../connection/connection.js';
import { wrapDriverError } from '../connection/driver-errors.js';
import type { SqlSession } from '../connection/sql-executor.js';
import { assertSqlIdentifier, optionOr, quoteIdentifier } from '../schema/identifiers.js';

/** Options of {@link PostgresCheckpointStore}. */
export interface PostgresCheckpointStoreOptions extends PostgresConnectionOptions {
  /**
   * A connection string (the store opens a `pg.Pool` and closes it in `close()`), a `pg.Pool`, a
   * PGlite instance, or an executor from `createSqlExecutor`. One you pass stays yours.
   */
  readonly connection: PostgresConnection;
  /** Schema holding the checkpoints table (created by `migrate()`). Defaults to `"public"`. */
  readonly schema?: string;
  /**
   * The table of checkpoints, validated as an identifier. Defaults to `"es_checkpoints"`, the table
   * `migrate()` creates; another name must be a table you created with the same columns.
   */
  readonly table?: string;
}

/** Name of the checkpoints table `migrate()` creates (migration 003). */
const CHECKPOINTS_TABLE = 'es_checkpoints';

/** The table names of migration 003, validated and quoted for a schema. */
export function checkpointTables(
  schema: unknown = 'public',
  checkpoints: unknown = CHECKPOINTS_TABLE,
): { checkpoints: string; parked: string } {
  assertSqlIdentifier(schema, 'schema');
  assertSqlIdentifier(checkpoints, 'table');
  const quoted = quoteIdentifier(schema);
  return { checkpoints: `${quoted}.${quoteIdentifier(checkpoints)}`, parked: `${quoted}.es_parked_events` };
}

/**
 * Checkpoints of subscriptions and projections in PostgreSQL (`<schema>.es_checkpoints`, created by
 * `migrate()`), on a server or PGlite. Positions are stored as `bigint`, exactly. `saveIf` is an
 * atomic compare-and-set, so an instance that lost its lease cannot move a checkpoint backwards.
 *
 * Saving a checkpoint apart from the read model gives at-least-once delivery; for exactly-once
 * with a read model in the same database use `PostgresProjectionStore`.
 *
 * @example
 * await migrate({ connection: process.env.DATABASE_URL! });
 * const checkpoints = new PostgresCheckpointStore({ connection: process.env.DATABASE_URL! });
 */
export class PostgresCheckpointStore implements CheckpointStore {
  readonly #executor: StoreExecutor;
  readonly #table: string;

  constructor(options: PostgresCheckpointStoreOptions) {
    assertOptionsObject(options, '{ connection, schema?, table?, preparedStatements? }');
    // Names are checked before the connection is touched: a hostile name never reaches SQL.
    this.#table = checkpointTables(
      optionOr(options.schema, 'public'),
      optionOr(options.table, CHECKPOINTS_TABLE),
    ).checkpoints;
    this.#executor = openStoreExecutor(options.connection, 'PostgresCheckpointStore', options);
  }

  async load(subscriptionId: string): Promise<Position | undefined> {
    assertStreamId(subscriptionId, 'subscription id');
    return this.#run('load the checkpoint of', subscriptionId, () =>
      loadCheckpoint(this.#executor, this.#table, subscriptionId),
    );
  }

  async save(subscriptionId: string, position: Position): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    await this.#run('save the checkpoint of', subscriptionId, () =>
      this.#executor.query({
        text: `INSERT INTO ${this.#table} (subscription_id, position) VALUES ($1, $2)
               ON CONFLICT (subscription_id) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
        values: [subscriptionId, position.toString()],
      }),
    );
  }

  async saveIf(subscriptionId: string, expected: Position | undefined, position: Position): Promise<boolean> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    if (expected !== undefined) assertPosition(expected, 'expected');
    return this.#run('save the checkpoint of', subscriptionId, () =>
      compareAndSet(this.#executor, this.#table, subscriptionId, expected, position),
    );
  }

  async reset(subscriptionId: string): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    await this.#run('reset the checkpoint of', subscriptionId, () =>
      this.#executor.query({
        text: `DELETE FROM ${this.#table} WHERE subscription_id = $1`,
        values: [subscriptionId],
      }),
    );
  }

  /**
   * Closes the connection pool if this store opened it (from a connection string). Every later call
   * fails with `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#executor.close();
  }

  async #run<T>(operation: string, subscriptionId: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isEventSourcingError(error)) throw error;
      throw wrapDriverError(error, `${operation} subscription "${subscriptionId}"`);
    }
  }
}

/** Reads a checkpoint, in a transaction or not. */
export async function loadCheckpoint(
  session: SqlSession,
  table: string,
  subscriptionId: string,
): Promise<Position | undefined> {
  const rows = await session.query<{ position: string | number | bigint }>({
    text: `SELECT position FROM ${table} WHERE subscription_id = $1`,
    values: [subscriptionId],
  });
  return rows[0] ? BigInt(rows[0].position) : undefined;
}

/** Moves a checkpoint from `expected` to `position` atomically; false when it was not `expected`. */
export async function compareAndSet(
  session: SqlSession,
  table: string,
  subscriptionId: string,
  expected: Position | undefined,
  position: Position,
): Promise<boolean> {
  const rows =
    expected === undefined
      ? await session.query({
          text: `INSERT INTO ${table} (subscription_id, position) VALUES ($1, $2)
                 ON CONFLICT (subscription_id) DO NOTHING RETURNING 1 AS ok`,
          values: [subscriptionId, position.toString()],
        })
      : await session.query({
          text: `UPDATE ${table} SET position = $3, updated_at = now()
                 WHERE subscription_id = $1 AND position = $2 RETURNING 1 AS ok`,
          values: [subscriptionId, expected.toString(), position.toString()],
        });
  return rows.length === 1;
}
