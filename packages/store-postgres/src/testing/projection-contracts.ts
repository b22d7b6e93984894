// Runs @es/testing's projection contract suites on this package's classes, over one database (a
// PGlite instance or a server): used by projections/projection-contracts.test.ts (PGlite) and
// projections/projection-contracts.int.test.ts (server). Not part of the published API.
import type { ParkedEvent, ParkedEventStore, PartitionLeaseStore, ProjectionLock } from '@es/core';
import {
  describeParkedEventStoreContract,
  describePartitionLeaseStoreContract,
  describeProjectionLockContract,
  describeProjectionStoreContract,
} from '@es/testing';
import { afterAll } from '@jest/globals';
import { createSqlExecutor, type PostgresConnection } from '../connection/connection.js';
import type { SqlExecutor, SqlSession } from '../connection/sql-executor.js';
import { PostgresPartitionLeaseStore } from '../projections/postgres-partition-lease-store.js';
import { PostgresProjectionLock } from '../projections/postgres-projection-lock.js';
import { PostgresProjectionStore } from '../projections/postgres-projection-store.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from './test-support.js';

/** Where the suites run. */
export interface ProjectionContractTarget {
  /** Shown in the suites' titles, e.g. "PGlite" or "server". */
  readonly label: string;
  /** The connection the stores share (a connection string gets one pool, closed after the file). */
  readonly connection: PostgresConnection;
  /** The locks' `ttlMs`: how long an abandoned lease outlives its holder (see the lock contract). */
  readonly leaseTtlMs: number;
  /** How often the locks renew their leases. Defaults to a quarter of `leaseTtlMs`. */
  readonly heartbeatMs?: number;
  /** Whether the stores send named prepared statements (false behind PgBouncer < 1.21). Defaults to true. */
  readonly preparedStatements?: boolean;
}

/**
 * The ProjectionStore (fences included), PartitionLeaseStore, ProjectionLock and ParkedEventStore
 * contracts on `target`. The parked-event
 * contract runs on the parked events of a PostgresProjectionStore (parked in a batch, listed and
 * removed by the store), the only way this package stores them.
 */
export function describePostgresProjectionContracts(target: ProjectionContractTarget): void {
  const { preparedStatements } = target;
  let executor: SqlExecutor | undefined;
  let schema: string | undefined;
  // One migrated schema for the file: every test uses its own subscription ids.
  const ready = async (): Promise<{ executor: SqlExecutor; schema: string }> => {
    if (!executor || !schema) {
      executor = createSqlExecutor(target.connection, { preparedStatements });
      schema = uniqueSchema('es_pc');
      await migrate({ connection: executor, schema });
      await executor.exec(`CREATE TABLE "${schema}".contract_writes (marker text PRIMARY KEY)`);
    }
    return { executor, schema };
  };
  afterAll(async () => {
    if (executor && schema) await dropSchema(executor, schema);
    await executor?.close();
  });

  describeProjectionStoreContract<SqlSession>({
    name: `PostgresProjectionStore (${target.label})`,
    create: async () => {
      const { executor, schema } = await ready();
      return new PostgresProjectionStore({ connection: executor, schema });
    },
    leases: async () => {
      const { executor, schema } = await ready();
      return new PostgresPartitionLeaseStore({ connection: executor, schema });
    },
    writes: {
      write: async (sql, marker) => {
        await sql.query({
          text: `INSERT INTO "${schema}".contract_writes (marker) VALUES ($1)`,
          values: [marker],
        });
      },
      has: async (_store, marker) => {
        const rows = await executor!.query({
          text: `SELECT 1 FROM "${schema}".contract_writes WHERE marker = $1`,
          values: [marker],
        });
        return rows.length === 1;
      },
    },
  });

  describeParkedEventStoreContract({
    name: `PostgresProjectionStore's parked events (${target.label})`,
    create: async () => {
      const { executor, schema } = await ready();
      return parkedEventsOf(new PostgresProjectionStore({ connection: executor, schema }));
    },
  });

  // On a server each lease store opens its own pool from the URL, as a second process would; on
  // PGlite both handles share the one session.
  const openLeaseStore = async () => {
    const { schema } = await ready();
    return new PostgresPartitionLeaseStore({ connection: target.connection, schema, preparedStatements });
  };
  describePartitionLeaseStoreContract({
    name: `PostgresPartitionLeaseStore (${target.label})`,
    create: openLeaseStore,
    contender: openLeaseStore,
    cleanup: (store: PartitionLeaseStore) => (store as PostgresPartitionLeaseStore).close(),
  });

  // Each test's lock and its contender (another lock object: on a server, another pool, as a second
  // process would have) share a namespace no other test uses.
  const namespaces = new WeakMap<ProjectionLock, string>();
  const openLock = (namespace: string) =>
    new PostgresProjectionLock({
      connection: target.connection,
      schema,
      namespace,
      ttlMs: target.leaseTtlMs,
      heartbeatMs: target.heartbeatMs,
      preparedStatements,
    });
  describeProjectionLockContract({
    name: `PostgresProjectionLock (${target.label})`,
    create: async () => {
      await ready();
      const namespace = uniqueSchema('lock');
      const lock = openLock(namespace);
      namespaces.set(lock, namespace);
      return lock;
    },
    contender: async (lock) => openLock(namespaces.get(lock)!),
    cleanup: async (lock) => (lock as PostgresProjectionLock).close(),
    leaseTtlMs: target.leaseTtlMs,
  });
}

/** The parked events of `store` seen as a ParkedEventStore: each park is a batch of its own. */
function parkedEventsOf(store: PostgresProjectionStore): ParkedEventStore {
  return {
    park: async (event: ParkedEvent) => {
      // A batch that parks and leaves the checkpoint where it is (or at 0 for a new subscription).
      for (;;) {
        const at = await store.load(event.subscriptionId);
        const moved = await store.commitBatch(event.subscriptionId, at, at ?? 0n, (batch) =>
          batch.park(event),
        );
        if (moved) return;
      }
    },
    list: (subscriptionId) => store.listParked(subscriptionId),
    remove: (subscriptionId, position) => store.removeParked(subscriptionId, position),
  };
}
