import { type EventStore, InMemoryCheckpointStore, type Position, type StoredEvent } from '@es/core';
import { Projection } from '@es/replay';
import {
  createSqlExecutor,
  type PostgresConnection,
  PostgresProjectionStore,
  quoteIdentifier,
  type SqlExecutor,
  type SqlSession,
} from '@es/store-postgres';
import { type ProductEvent, productEvents } from './domain/product-events.js';
import { stockChange } from './stock-change.js';
import { type StockRow, StockView } from './stock-view.js';

/** The stock read model and the live projection that keeps it up to date. */
export interface StockProjection {
  /** Where the read model lives, for the user. */
  readonly description: string;
  /** The checkpoint the projection started from: `undefined` when it started from the beginning. */
  readonly resumedFrom: Position | undefined;
  readonly projection: Pick<Projection<ProductEvent>, 'position' | 'waitForPosition' | 'waitForIdle'>;
  /** The read model's rows, sorted by SKU. */
  rows(): Promise<StockRow[]>;
  /** Stops the projection (after the batch in progress). */
  stop(): Promise<void>;
}

/** Where the read model can live: in a PostgreSQL schema, or (when absent) in memory. */
export interface StockProjectionOptions {
  readonly eventStore: EventStore;
  readonly postgres?: { readonly connection: PostgresConnection; readonly schema: string };
}

const NAME = 'stock';
const options = { name: NAME, eventTypes: productEvents.types, pollIntervalMs: 500 } as const;

/**
 * Starts the stock projection as a catch-up subscription: it reads the product events after its
 * checkpoint, then follows new ones live (woken by the store's notifications).
 *
 * On PostgreSQL (a server or PGlite) the read model is a table, `<schema>.stock`, and
 * `PostgresProjectionStore` commits each batch's table updates and the checkpoint in one
 * transaction: every event counts exactly once, and a restarted process resumes where the last
 * one stopped. Elsewhere the read model is in memory, so it starts from the beginning every time.
 */
export async function startStockProjection(config: StockProjectionOptions): Promise<StockProjection> {
  return config.postgres
    ? startInTable(config.eventStore, config.postgres)
    : startInMemory(config.eventStore);
}

/** The quoted name of a stock table in `schema`. */
export function stockTable(schema: string, name: 'stock' | 'stock_workers'): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`;
}

/**
 * Creates a stock table if it is missing. Several processes may start at once (the workers of
 * `warehouse workers`): a transaction-scoped advisory lock makes them take turns, because two
 * concurrent `CREATE TABLE IF NOT EXISTS` of one table can fail on PostgreSQL.
 */
export async function createStockTable(sql: SqlExecutor, table: string): Promise<void> {
  await sql.transaction(async (session) => {
    await session.query({
      text: 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))',
      values: [`warehouse create ${table}`],
    });
    await session.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (sku text PRIMARY KEY, name text NOT NULL DEFAULT '',
         on_hand integer NOT NULL DEFAULT 0, reserved integer NOT NULL DEFAULT 0)`,
    );
  });
}

/** Adds what `event` changes (see `stockChange`) to a stock table, in the caller's transaction. */
export async function applyStockChange(
  tx: SqlSession,
  table: string,
  event: StoredEvent<ProductEvent>,
): Promise<void> {
  const change = stockChange(event);
  if (!change) return;
  await tx.query({
    text: `INSERT INTO ${table} AS s (sku, name, on_hand, reserved) VALUES ($1, $2, $3, $4)
           ON CONFLICT (sku) DO UPDATE SET name = COALESCE(NULLIF(EXCLUDED.name, ''), s.name),
             on_hand = s.on_hand + EXCLUDED.on_hand, reserved = s.reserved + EXCLUDED.reserved`,
    values: [change.sku, change.name ?? '', change.onHand, change.reserved],
  });
}

/** A stock table's rows, sorted by SKU. */
export async function readStockTable(sql: SqlSession, table: string): Promise<StockRow[]> {
  const rows = await sql.query<{ sku: string; name: string; on_hand: number; reserved: number }>({
    text: `SELECT sku, name, on_hand, reserved FROM ${table} ORDER BY sku`,
  });
  return rows.map((row) => ({
    sku: row.sku,
    name: row.name,
    onHand: Number(row.on_hand),
    reserved: Number(row.reserved),
    available: Number(row.on_hand) - Number(row.reserved),
  }));
}

async function startInTable(
  eventStore: EventStore,
  { connection, schema }: { connection: PostgresConnection; schema: string },
): Promise<StockProjection> {
  const table = stockTable(schema, 'stock');
  const sql = createSqlExecutor(connection);
  await createStockTable(sql, table);
  const store = new PostgresProjectionStore({ connection: sql, schema });
  const resumedFrom = await store.load(NAME);
  const projection = new Projection<ProductEvent, SqlSession>({
    ...options,
    eventStore,
    readModel: store,
    handler: (event, tx) => applyStockChange(tx, table, event),
  });
  projection.start();
  return {
    description: `the table ${schema}.stock, updated in the same transaction as its checkpoint`,
    resumedFrom,
    projection,
    rows: () => readStockTable(sql, table),
    async stop() {
      await projection.stop();
      await sql.close();
    },
  };
}

async function startInMemory(eventStore: EventStore): Promise<StockProjection> {
  const view = new StockView();
  const projection = new Projection<ProductEvent>({
    ...options,
    eventStore,
    checkpoints: new InMemoryCheckpointStore(),
    handler: (event) => view.handle(event),
  });
  projection.start();
  return {
    description: 'process memory, rebuilt from the log by every process',
    resumedFrom: undefined,
    projection,
    rows: async () => view.rows(),
    stop: () => projection.stop(),
  };
}
