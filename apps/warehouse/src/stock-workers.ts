import type { EventStore } from '@es/core';
import { ConsumerGroup, describeConsumerGroup } from '@es/replay';
import {
  createSqlExecutor,
  type PostgresConnection,
  PostgresPartitionLeaseStore,
  PostgresProjectionStore,
  type SqlSession,
} from '@es/store-postgres';
import { type ProductEvent, productEvents } from './domain/product-events.js';
import { applyStockChange, createStockTable, readStockTable, stockTable } from './stock-projection.js';
import type { StockRow } from './stock-view.js';

/** The consumer group that keeps `<schema>.stock_workers` (see `warehouse workers`). */
export const STOCK_GROUP = 'stock-workers';
/** Its partition count: at most this many workers share the work. Fixed for the group's life. */
export const STOCK_GROUP_PARTITIONS = 8;
/** A crashed worker's partitions are taken over this long after its last renewal. */
export const STOCK_GROUP_LEASE_TTL_MS = 5000;

/** Where the group runs: a PostgreSQL server shared by every worker process. */
export interface StockGroupOptions {
  readonly eventStore: EventStore;
  readonly postgres: { readonly connection: PostgresConnection; readonly schema: string };
}

/** One worker of the stock group, running in this process. */
export interface StockWorker {
  readonly workerId: string;
  /**
   * Resolves with the error the worker stopped on by itself (a closed store, or the group refusing
   * it, e.g. another partition count); never resolves while it works.
   */
  failed(): Promise<unknown>;
  /** Stops after the batch in progress and hands its partitions over. */
  stop(): Promise<void>;
}

/**
 * Starts one worker of the stock consumer group: it joins the group, takes its share of the
 * partitions and keeps the rows of their products in `<schema>.stock_workers` up to date, each
 * batch's rows and checkpoint in one transaction checked against the partition's lease
 * (exactly-once, even when a worker crashes and another takes over).
 */
export async function startStockWorker(
  options: StockGroupOptions & {
    /** Told when this worker's partitions change, with its worker id. */
    readonly onRebalance?: (owned: readonly number[], workerId: string) => void;
    /** Told about errors outside the handler (retried), and the one the worker stops on. */
    readonly onError?: (error: unknown) => void;
  },
): Promise<StockWorker> {
  const { connection, schema } = options.postgres;
  const table = stockTable(schema, 'stock_workers');
  const sql = createSqlExecutor(connection);
  await createStockTable(sql, table);
  const group = new ConsumerGroup<ProductEvent, SqlSession>({
    name: STOCK_GROUP,
    partitions: STOCK_GROUP_PARTITIONS,
    eventStore: options.eventStore,
    eventTypes: productEvents.types,
    leases: new PostgresPartitionLeaseStore({ connection: sql, schema }),
    readModel: new PostgresProjectionStore({ connection: sql, schema }),
    leaseTtlMs: STOCK_GROUP_LEASE_TTL_MS,
    pollIntervalMs: 500,
    handler: (event, tx) => applyStockChange(tx, table, event),
    onRebalance: (owned) => options.onRebalance?.(owned, group.workerId),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  group.start();
  let poll: NodeJS.Timeout | undefined;
  return {
    workerId: group.workerId,
    failed: () =>
      new Promise((resolve) => {
        poll = setInterval(() => {
          if (group.failure !== undefined) {
            clearInterval(poll);
            resolve(group.failure);
          }
        }, 500);
      }),
    async stop() {
      clearInterval(poll);
      await group.stop();
      await sql.close();
    },
  };
}

/** What `warehouse group` prints: the group's members and partitions, and the rows they built. */
export interface StockGroupStatus {
  readonly members: readonly string[];
  readonly partitions: Awaited<ReturnType<typeof describeConsumerGroup>>['partitions'];
  readonly rows: StockRow[];
}

/** Reads the stock group's state from the stores; no worker needs to run. */
export async function describeStockGroup(options: StockGroupOptions): Promise<StockGroupStatus> {
  const { connection, schema } = options.postgres;
  const table = stockTable(schema, 'stock_workers');
  const sql = createSqlExecutor(connection);
  try {
    await createStockTable(sql, table);
    const { members, partitions } = await describeConsumerGroup({
      name: STOCK_GROUP,
      leases: new PostgresPartitionLeaseStore({ connection: sql, schema }),
      readModel: new PostgresProjectionStore({ connection: sql, schema }),
    });
    return { members, partitions, rows: await readStockTable(sql, table) };
  } finally {
    await sql.close();
  }
}
