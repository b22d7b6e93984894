import { isEventSourcingError, type Snapshot, type SnapshotStore } from '@es/core';
import { assertStreamId, assertValidSnapshot } from '@es/core/adapter';
import {
  assertOptionsObject,
  openStoreExecutor,
  type PostgresConnection,
  type PostgresConnectionOptions,
  type StoreExecutor,
} from '../connection/connection.js';
import { wrapDriverError } from '../connection/driver-errors.js';
import { optionOr, quoteIdentifier, storeNames } from '../schema/identifiers.js';

/** Options of {@link PostgresSnapshotStore}: the same `connection`, `schema` and `table` as the event store's. */
export interface PostgresSnapshotStoreOptions extends PostgresConnectionOptions {
  /**
   * A connection string (the store opens a `pg.Pool` and closes it in `close()`), a `pg.Pool`, a
   * PGlite instance, or an executor from `createSqlExecutor`. One you pass stays yours.
   */
  readonly connection: PostgresConnection;
  /** Schema of the event table. Defaults to `"public"`. */
  readonly schema?: string;
  /** The event table whose snapshots these are; they live in `<table>_snapshots`. Defaults to `"events"`. */
  readonly table?: string;
}

interface SnapshotRow {
  readonly stream_id: string;
  readonly aggregate_version: number;
  readonly snapshot_version: number;
  /** The JSON text, parsed here so no driver's own json parsing can differ. */
  readonly state: string;
  readonly created_at: Date | string;
}

/**
 * Snapshots in PostgreSQL (a server or PGlite), one row per stream in `<schema>.<table>_snapshots`
 * (created by `migrate()`, migration 002). A save replaces the stored snapshot only when its
 * `aggregateVersion` is equal or higher, atomically, so concurrent or late saves never move a
 * stream's snapshot backwards. The state is stored as `json`, exactly as written.
 *
 * @example
 * const config = { connection: process.env.DATABASE_URL!, schema: 'billing' };
 * const events = new PostgresEventStore(config);
 * await events.migrate();
 * const snapshots = new PostgresSnapshotStore(config);
 * const accounts = new EventSourcingBuilder()
 *   .withEventStore(events)
 *   .withSnapshotStore(snapshots)
 *   .withSnapshotStrategy(new FrequencySnapshotStrategy(100))
 *   .build((id) => new BankAccount(id));
 */
export class PostgresSnapshotStore implements SnapshotStore {
  readonly #executor: StoreExecutor;
  readonly #table: string;
  readonly #statement: string;

  constructor(options: PostgresSnapshotStoreOptions) {
    assertOptionsObject(options, '{ connection, schema?, table?, preparedStatements? }');
    // Names are checked before the connection is touched: a hostile name never reaches SQL.
    const names = storeNames(optionOr(options.schema, 'public'), optionOr(options.table, 'events'));
    this.#table = `${quoteIdentifier(names.schema)}.${quoteIdentifier(`${names.table}_snapshots`)}`;
    this.#statement = `es-snapshot:${this.#table}`;
    this.#executor = openStoreExecutor(options.connection, 'PostgresSnapshotStore', options);
  }

  /** The quoted table this store reads and writes, e.g. `"public"."events_snapshots"`. */
  get table(): string {
    return this.#table;
  }

  async save(snapshot: Snapshot): Promise<void> {
    assertValidSnapshot(snapshot);
    const state = JSON.stringify(snapshot.state);
    await this.#run('save the snapshot of', snapshot.streamId, () =>
      this.#executor.query({
        name: `${this.#statement}:save`,
        text: `INSERT INTO ${this.#table} AS s (stream_id, aggregate_version, snapshot_version, state, created_at)
               VALUES ($1, $2, $3, $4::json, $5)
               ON CONFLICT (stream_id) DO UPDATE SET
                 aggregate_version = EXCLUDED.aggregate_version, snapshot_version = EXCLUDED.snapshot_version,
                 state = EXCLUDED.state, created_at = EXCLUDED.created_at, saved_at = now()
               WHERE s.aggregate_version <= EXCLUDED.aggregate_version`,
        values: [
          snapshot.streamId,
          snapshot.aggregateVersion,
          snapshot.snapshotVersion,
          state,
          snapshot.createdAt.toISOString(),
        ],
      }),
    );
  }

  async load(streamId: string): Promise<Snapshot | undefined> {
    assertStreamId(streamId);
    const rows = await this.#run('load the snapshot of', streamId, () =>
      this.#executor.query<SnapshotRow>({
        name: `${this.#statement}:load`,
        text: `SELECT stream_id, aggregate_version, snapshot_version, state::text AS state, created_at
               FROM ${this.#table} WHERE stream_id = $1`,
        values: [streamId],
      }),
    );
    const row = rows[0];
    return row && toSnapshot(row);
  }

  async delete(streamId: string): Promise<void> {
    assertStreamId(streamId);
    await this.#run('delete the snapshot of', streamId, () =>
      this.#executor.query({
        name: `${this.#statement}:delete`,
        text: `DELETE FROM ${this.#table} WHERE stream_id = $1`,
        values: [streamId],
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

  async #run<T>(operation: string, streamId: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isEventSourcingError(error)) throw error;
      throw wrapDriverError(error, `${operation} stream "${streamId}"`);
    }
  }
}

function toSnapshot(row: SnapshotRow): Snapshot {
  return {
    streamId: row.stream_id,
    aggregateVersion: Number(row.aggregate_version),
    snapshotVersion: Number(row.snapshot_version),
    state: JSON.parse(row.state),
    createdAt: new Date(row.created_at),
  };
}
