import { isStoreNotMigratedError, type ParkedEvent, type Position, StoreNotMigratedError } from '@es/core';
import {
  createSqlExecutor,
  type EmbeddedPostgres,
  MIGRATIONS_TABLE,
  migrate,
  openEmbeddedPostgres,
  PostgresCheckpointStore,
  PostgresEventStore,
  PostgresProjectionStore,
  quoteIdentifier,
  readMigrationFiles,
  type SqlExecutor,
  storeNames,
} from '@es/store-postgres';
import type {
  Backend,
  CheckpointRow,
  GroupRow,
  LogPoint,
  MigrationReport,
  StoreStats,
  StreamSummary,
} from './backend.js';

/** Where a PostgreSQL store is: a server URL or an embedded data directory. */
export interface PostgresTarget {
  readonly url?: string;
  readonly dataDir?: string;
  readonly schema: string;
  readonly table: string;
  /** How long to wait for another process to close the data directory. */
  readonly waitMs: number;
}

/** Opens a backend over a PostgreSQL server or a PGlite data directory. */
export async function openPostgresBackend(target: PostgresTarget): Promise<Backend> {
  const names = storeNames(target.schema, target.table);
  let embedded: EmbeddedPostgres | undefined;
  let executor: SqlExecutor;
  let description: string;
  if (target.dataDir !== undefined) {
    embedded = await openEmbeddedPostgres({ dataDir: target.dataDir, waitMs: target.waitMs });
    executor = createSqlExecutor(embedded.db);
    description = `PGlite data directory ${embedded.dataDir}`;
  } else {
    executor = createSqlExecutor(target.url!);
    description = `PostgreSQL ${redact(target.url!)}`;
  }
  return new PostgresBackend(executor, embedded, names.schema, names.table, description);
}

/** The URL without its password. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'server';
  }
}

class PostgresBackend implements Backend {
  readonly kind: 'postgres' | 'pglite';
  readonly store: PostgresEventStore;
  readonly checkpoints: PostgresCheckpointStore;
  readonly #events: string;
  readonly #schema: string;
  #projectionStore: PostgresProjectionStore | undefined;

  constructor(
    readonly executor: SqlExecutor,
    readonly embedded: EmbeddedPostgres | undefined,
    readonly schemaName: string,
    readonly tableName: string,
    readonly description: string,
  ) {
    this.kind = embedded ? 'pglite' : 'postgres';
    this.store = new PostgresEventStore({ connection: executor, schema: schemaName, table: tableName });
    this.checkpoints = new PostgresCheckpointStore({ connection: executor, schema: schemaName });
    this.#schema = quoteIdentifier(schemaName);
    this.#events = `${this.#schema}.${quoteIdentifier(tableName)}`;
  }

  async migrate(dryRun: boolean): Promise<MigrationReport> {
    if (!dryRun) {
      const result = await migrate({
        connection: this.executor,
        schema: this.schemaName,
        table: this.tableName,
      });
      return { ...result, pending: [] };
    }
    // A dry run only reads: which versions the migrations table records for this event table.
    const files = readMigrationFiles();
    const done = new Set<number>();
    if (await this.#exists(MIGRATIONS_TABLE)) {
      const rows = await this.executor.query<{ version: number }>({
        text: `SELECT version FROM ${this.#schema}.${quoteIdentifier(MIGRATIONS_TABLE)} WHERE event_table = $1`,
        values: [this.tableName],
      });
      for (const row of rows) done.add(Number(row.version));
    }
    const pending = files.filter((file) => !done.has(file.version));
    const settings =
      `-- Run by migrate() in one transaction, with these settings:\n` +
      `SELECT set_config('es.schema', '${this.schemaName}', true), set_config('es.table', '${this.tableName}', true),\n` +
      `       set_config('search_path', '${quoteIdentifier(this.schemaName).replaceAll("'", "''")}', true);\n`;
    return {
      applied: [],
      alreadyApplied: files.filter((file) => done.has(file.version)).map((file) => file.name),
      pending: pending.map((file) => ({ name: file.name, text: `${settings}${file.sql}` })),
    };
  }

  async assertMigrated(): Promise<void> {
    // Through the store first: a connection failure comes back as the toolkit's typed error.
    try {
      await this.store.getStreamVersion('$es-cli-probe');
    } catch (error) {
      if (!isStoreNotMigratedError(error)) throw error;
    }
    if (!(await this.#exists(this.tableName)) || !(await this.#exists('es_checkpoints'))) {
      throw new StoreNotMigratedError(
        `The event table "${this.schemaName}"."${this.tableName}" (or its checkpoint tables) does not exist in ` +
          `${this.description}. Run \`es migrate\` with the same connection, --schema and --table first.`,
      );
    }
  }

  async #exists(table: string): Promise<boolean> {
    const [row] = await this.executor.query<{ found: string | null }>({
      text: 'SELECT to_regclass($1)::text AS found',
      values: [`${this.#schema}.${quoteIdentifier(table)}`],
    });
    return row?.found != null;
  }

  async listStreams(options: { prefix?: string; limit: number; offset: number }) {
    const filter = options.prefix === undefined ? '' : `WHERE starts_with(stream_id, $3)`;
    const values: unknown[] = [options.limit, options.offset];
    if (options.prefix !== undefined) values.push(options.prefix);
    const rows = await this.executor.query<{
      stream_id: string;
      version: number;
      last_position: string;
      first_at: Date | string;
      last_at: Date | string;
    }>({
      text: `SELECT stream_id, max(version) AS version, max(position)::text AS last_position,
                    min(created_at) AS first_at, max(created_at) AS last_at
             FROM ${this.#events} ${filter}
             GROUP BY stream_id ORDER BY stream_id LIMIT $1 OFFSET $2`,
      values,
    });
    const [count] = await this.executor.query<{ total: string }>({
      text: `SELECT count(DISTINCT stream_id)::text AS total FROM ${this.#events} ${filter.replace('$3', '$1')}`,
      values: options.prefix === undefined ? [] : [options.prefix],
    });
    const streams: StreamSummary[] = rows.map((row) => ({
      streamId: row.stream_id,
      version: Number(row.version),
      lastPosition: BigInt(row.last_position),
      firstAt: new Date(row.first_at),
      lastAt: new Date(row.last_at),
    }));
    return { streams, total: Number(count?.total ?? 0) };
  }

  async stats(top: number): Promise<StoreStats> {
    const [totals] = await this.executor.query<{
      events: string;
      streams: string;
      head: string | null;
      first_at: Date | string | null;
      last_at: Date | string | null;
      last_minute: string;
      last_hour: string;
      average_bytes: string | null;
    }>({
      text: `SELECT count(*)::text AS events, count(DISTINCT stream_id)::text AS streams,
                    max(position)::text AS head, min(created_at) AS first_at, max(created_at) AS last_at,
                    count(*) FILTER (WHERE created_at > now() - interval '1 minute')::text AS last_minute,
                    count(*) FILTER (WHERE created_at > now() - interval '1 hour')::text AS last_hour,
                    avg(pg_column_size(data) + pg_column_size(metadata))::text AS average_bytes
             FROM ${this.#events}`,
    });
    const [size] = await this.executor.query<{ bytes: string | null }>({
      text: 'SELECT pg_total_relation_size(to_regclass($1))::text AS bytes',
      values: [this.#events],
    });
    const types = await this.executor.query<{ type: string; count: string }>({
      text: `SELECT type, count(*)::text AS count FROM ${this.#events} GROUP BY type ORDER BY count(*) DESC, type`,
    });
    const largest = await this.executor.query<{ stream_id: string; events: number }>({
      text: `SELECT stream_id, max(version) AS events FROM ${this.#events}
             GROUP BY stream_id ORDER BY max(version) DESC, stream_id LIMIT $1`,
      values: [top],
    });
    return {
      events: Number(totals?.events ?? 0),
      streams: Number(totals?.streams ?? 0),
      headPosition: totals?.head == null ? undefined : BigInt(totals.head),
      firstAt: totals?.first_at == null ? undefined : new Date(totals.first_at),
      lastAt: totals?.last_at == null ? undefined : new Date(totals.last_at),
      lastMinute: Number(totals?.last_minute ?? 0),
      lastHour: Number(totals?.last_hour ?? 0),
      storageBytes: size?.bytes == null ? undefined : Number(size.bytes),
      averageEventBytes: totals?.average_bytes == null ? undefined : Math.round(Number(totals.average_bytes)),
      types: types.map((row) => ({ type: row.type, count: Number(row.count) })),
      largestStreams: largest.map((row) => ({ streamId: row.stream_id, events: Number(row.events) })),
    };
  }

  async headPosition(): Promise<Position | undefined> {
    const [row] = await this.executor.query<{ head: string | null }>({
      text: `SELECT max(position)::text AS head FROM ${this.#events}`,
    });
    return row?.head == null ? undefined : BigInt(row.head);
  }

  async countAfter(position: Position, limit: number): Promise<number> {
    const [row] = await this.executor.query<{ count: string }>({
      text: `SELECT count(*)::text AS count FROM (SELECT 1 FROM ${this.#events} WHERE position > $1 LIMIT $2) AS lag`,
      values: [position.toString(), limit],
    });
    return Number(row?.count ?? 0);
  }

  async firstAfter(position: Position): Promise<LogPoint | undefined> {
    const [row] = await this.executor.query<{ position: string; created_at: Date | string }>({
      text: `SELECT position::text AS position, created_at FROM ${this.#events}
             WHERE position > $1 ORDER BY position LIMIT 1`,
      values: [position.toString()],
    });
    return row ? { position: BigInt(row.position), timestamp: new Date(row.created_at) } : undefined;
  }

  async listCheckpoints(): Promise<CheckpointRow[]> {
    const rows = await this.executor.query<{
      subscription_id: string;
      position: string;
      updated_at: Date | string;
    }>({
      text: `SELECT subscription_id, position::text AS position, updated_at FROM ${this.#schema}.es_checkpoints
             ORDER BY subscription_id`,
    });
    return rows.map((row) => ({
      subscriptionId: row.subscription_id,
      position: BigInt(row.position),
      updatedAt: new Date(row.updated_at),
    }));
  }

  async listGroups(): Promise<GroupRow[]> {
    // The lease tables come with migration 006; a store migrated before it has no groups.
    if (!(await this.#exists('es_consumer_groups'))) return [];
    const groups = await this.executor.query<{ group_name: string; partitions: number }>({
      text: `SELECT group_name, partitions FROM ${this.#schema}.es_consumer_groups ORDER BY group_name`,
    });
    const leases = await this.executor.query<{ group_name: string; partition: number; owner: string }>({
      text: `SELECT group_name, partition, owner FROM ${this.#schema}.es_partition_leases
             WHERE owner IS NOT NULL AND expires_at > now()`,
    });
    const members = await this.executor.query<{ group_name: string; worker_id: string }>({
      text: `SELECT group_name, worker_id FROM ${this.#schema}.es_consumer_members
             WHERE expires_at > now() ORDER BY worker_id`,
    });
    return groups.map((group) => ({
      name: group.group_name,
      partitions: Number(group.partitions),
      owners: new Map(
        leases
          .filter((lease) => lease.group_name === group.group_name)
          .map((lease) => [Number(lease.partition), lease.owner] as const),
      ),
      members: members.filter((member) => member.group_name === group.group_name).map((m) => m.worker_id),
    }));
  }

  listParked(subscriptionId?: string): Promise<ParkedEvent[]> {
    return this.#projections.listAllParked(subscriptionId === undefined ? {} : { name: subscriptionId });
  }

  async parkedCounts(): Promise<Map<string, number>> {
    const rows = await this.executor.query<{ subscription_id: string; count: string }>({
      text: `SELECT subscription_id, count(*)::text AS count FROM ${this.#schema}.es_parked_events GROUP BY subscription_id`,
    });
    return new Map(rows.map((row) => [row.subscription_id, Number(row.count)]));
  }

  async removeParked(subscriptionId: string, position: Position): Promise<boolean> {
    const rows = await this.executor.query({
      text: `DELETE FROM ${this.#schema}.es_parked_events WHERE subscription_id = $1 AND position = $2 RETURNING 1`,
      values: [subscriptionId, position.toString()],
    });
    return rows.length > 0;
  }

  requestRetry(subscriptionId: string, position: Position): Promise<boolean> {
    // On a schema before migration 010 this fails with StoreNotMigratedError.
    return this.#projections.requestRetry(subscriptionId, position);
  }

  get #projections(): PostgresProjectionStore {
    // On the backend's executor, which the backend closes: the store owns nothing to close.
    this.#projectionStore ??= new PostgresProjectionStore({
      connection: this.executor,
      schema: this.schemaName,
    });
    return this.#projectionStore;
  }

  async close(): Promise<void> {
    try {
      await this.store.close();
      await this.checkpoints.close();
      await this.executor.close();
    } finally {
      await this.embedded?.close();
    }
  }
}
