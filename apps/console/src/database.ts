import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EventStoreUnavailableError, InvalidArgumentError } from '@es/core';
import {
  createSqlExecutor,
  type EmbeddedPostgres,
  openEmbeddedPostgres,
  PostgresEventStore,
  PostgresPartitionLeaseStore,
  PostgresProjectionStore,
  type SqlExecutor,
} from '@es/store-postgres';
import pg from 'pg';

/** Where the console reads: a PostgreSQL server (URL) or a PGlite data folder. */
export type ConsoleSource =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly dataDir: string };

/** The stores and the SQL executor of one open connection, all on one schema. */
export interface ConsoleStores {
  readonly sql: SqlExecutor;
  readonly events: PostgresEventStore;
  readonly leases: PostgresPartitionLeaseStore;
  readonly projections: PostgresProjectionStore;
  /** Schema and event table, as plain identifiers (checked by the event store). */
  readonly schema: string;
  readonly table: string;
}

/** Options of `openConsoleDatabase`. */
export interface ConsoleDatabaseOptions {
  readonly source: ConsoleSource;
  /** The schema of the event table; found by looking for the table when left out. */
  readonly schema?: string;
  /** The event table's name. Defaults to `events`. */
  readonly table?: string;
  /**
   * PGlite only: how long the folder stays open after the last request, in milliseconds, before
   * the console closes it and lets another process (the demo) have it. Defaults to 1 000.
   */
  readonly idleCloseMs?: number;
  /** PGlite only: how long a request waits for another process to let go of the folder. Defaults to 10 000. */
  readonly lockWaitMs?: number;
}

/**
 * The console's access to the database. On a server it keeps one small pool. On PGlite, which one
 * process at a time may open, it opens the folder for each burst of requests and closes it again
 * after `idleCloseMs`, so a demo run while the console is up only waits a moment for the folder.
 */
export interface ConsoleDatabase {
  readonly description: string;
  readonly kind: ConsoleSource['kind'];
  /** Runs `work` with the stores open; on PGlite the folder stays locked until it settles. */
  use<T>(work: (stores: ConsoleStores) => Promise<T>): Promise<T>;
  /** Closes the pool or the folder. */
  close(): Promise<void>;
}

/**
 * Opens the console's database and finds the event table's schema (when not given): the one schema
 * holding a table named `table` with the event columns. Refuses a PGlite folder that holds no
 * database (the console never creates one) and a schema it cannot decide on.
 *
 * @example
 * const db = await openConsoleDatabase({ source: { kind: 'pglite', dataDir: '.data/bank' } });
 * const streams = await db.use((stores) => listStreams(stores, {}));
 */
export async function openConsoleDatabase(options: ConsoleDatabaseOptions): Promise<ConsoleDatabase> {
  const table = options.table ?? 'events';
  const { source } = options;
  if (source.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: source.url, max: 4, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => undefined); // an idle connection dropped: the next query reconnects
    try {
      const sql = createSqlExecutor(pool);
      const schema = options.schema ?? (await findSchema(sql, table));
      const stores = makeStores(sql, schema, table);
      // A first read proves the table is there and readable before the console says it is ready.
      await stores.events.getStreamVersion('console-probe');
      return {
        kind: 'postgres',
        description: `PostgreSQL at ${redact(source.url)}, ${schema}.${table}`,
        use: (work) => work(stores),
        async close() {
          await closeStores(stores);
          await pool.end();
        },
      };
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }
  if (!existsSync(join(source.dataDir, 'PG_VERSION'))) {
    throw new InvalidArgumentError(
      'data-dir',
      `${source.dataDir} holds no embedded database; run the demo first (npx -y pnpm@10.34.9 demo), or pass --data-dir with the folder of one.`,
    );
  }
  const embedded = new EmbeddedSession(source.dataDir, table, options);
  try {
    await embedded.use(async () => undefined);
  } catch (error) {
    await embedded.close();
    throw error;
  }
  return embedded;
}

class EmbeddedSession implements ConsoleDatabase {
  readonly kind = 'pglite' as const;
  readonly #dataDir: string;
  readonly #table: string;
  #schema: string | undefined;
  readonly #idleCloseMs: number;
  readonly #lockWaitMs: number;
  #opening: Promise<{ embedded: EmbeddedPostgres; stores: ConsoleStores }> | undefined;
  #inUse = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(dataDir: string, table: string, options: ConsoleDatabaseOptions) {
    this.#dataDir = dataDir;
    this.#table = table;
    this.#schema = options.schema;
    this.#idleCloseMs = options.idleCloseMs ?? 1_000;
    this.#lockWaitMs = options.lockWaitMs ?? 10_000;
  }

  get description(): string {
    return `PGlite in ${this.#dataDir}, ${this.#schema ?? '?'}.${this.#table} (opened per request)`;
  }

  async use<T>(work: (stores: ConsoleStores) => Promise<T>): Promise<T> {
    if (this.#closed) throw new EventStoreUnavailableError('The console is shutting down.');
    clearTimeout(this.#idleTimer);
    this.#inUse++;
    try {
      this.#opening ??= this.#open();
      const { stores } = await this.#opening.catch((error: unknown) => {
        this.#opening = undefined;
        throw error;
      });
      return await work(stores);
    } finally {
      this.#inUse--;
      if (this.#inUse === 0 && !this.#closed) {
        this.#idleTimer = setTimeout(() => void this.#release(), this.#idleCloseMs);
      }
    }
  }

  async #open(): Promise<{ embedded: EmbeddedPostgres; stores: ConsoleStores }> {
    const embedded = await openEmbeddedPostgres({
      dataDir: this.#dataDir,
      waitMs: this.#lockWaitMs,
      command: 'es console (read-only browsing)',
    });
    try {
      const sql = createSqlExecutor(embedded.db);
      this.#schema ??= await findSchema(sql, this.#table);
      return { embedded, stores: makeStores(sql, this.#schema, this.#table) };
    } catch (error) {
      await embedded.close();
      throw error;
    }
  }

  async #release(): Promise<void> {
    const opening = this.#opening;
    if (opening === undefined || this.#inUse > 0) return;
    this.#opening = undefined;
    const open = await opening.catch(() => undefined);
    if (open === undefined) return;
    await closeStores(open.stores);
    await open.embedded.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    await this.#release();
  }
}

function makeStores(sql: SqlExecutor, schema: string, table: string): ConsoleStores {
  return {
    sql,
    schema,
    table,
    // No registry: the console shows every event as stored, whatever its type.
    events: new PostgresEventStore({ connection: sql, schema, table, notify: false }),
    leases: new PostgresPartitionLeaseStore({ connection: sql, schema }),
    projections: new PostgresProjectionStore({ connection: sql, schema }),
  };
}

async function closeStores(stores: ConsoleStores): Promise<void> {
  // The executor was passed in, so closing the stores leaves the connection to its owner.
  await Promise.allSettled([stores.events.close(), stores.leases.close(), stores.projections.close()]);
}

/** The one schema holding an event table called `table`; refuses none or several. */
async function findSchema(sql: SqlExecutor, table: string): Promise<string> {
  const rows = await sql.query<{ table_schema: string }>({
    text: `SELECT table_schema FROM information_schema.columns
           WHERE table_name = $1 AND column_name IN ('stream_id', 'event_id', 'position')
           GROUP BY table_schema HAVING count(*) = 3 ORDER BY table_schema`,
    values: [table],
  });
  const schemas = rows.map((row) => row.table_schema);
  if (schemas.length === 1) return schemas[0]!;
  if (schemas.length === 0) {
    throw new InvalidArgumentError(
      'schema',
      `no event table "${table}" in this database; run the demo first, or pass --table (and --schema) for another table.`,
    );
  }
  throw new InvalidArgumentError(
    'schema',
    `several schemas hold an event table "${table}" (${schemas.join(', ')}); pass --schema with one of them.`,
  );
}

// postgres://user:secret@host/db -> postgres://user:***@host/db
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
