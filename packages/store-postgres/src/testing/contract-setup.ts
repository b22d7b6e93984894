// Wiring of the contract suite for this package's tests (not part of the published API).
import type { EventStore } from '@es/core';
import type { ContractStoreOptions, EventStoreContractConfig } from '@es/testing';
import type { PostgresConnection } from '../connection/connection.js';
import { createSqlExecutor } from '../connection/connection.js';
import type { PostgresEventStoreOptions } from '../events/postgres-event-store.js';
import { PostgresEventStore } from '../events/postgres-event-store.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from './test-support.js';

/**
 * A contract config whose every store gets a fresh schema (dropped on cleanup), except stores
 * opened `sameStorageAs` another, which share its schema. `storeOptions` go to every store (e.g.
 * `coalesce`).
 */
export function contractConfig(
  name: string,
  connection: () => PostgresConnection,
  extra: Partial<EventStoreContractConfig> = {},
  storeOptions: Partial<PostgresEventStoreOptions> = {},
): EventStoreContractConfig {
  const schemas = new WeakMap<EventStore, string>();
  return {
    name,
    create: async ({ registry, sameStorageAs }: ContractStoreOptions) => {
      const shared = sameStorageAs ? schemas.get(sameStorageAs) : undefined;
      const schema = shared ?? uniqueSchema();
      if (!shared) await migrate({ connection: connection(), schema });
      const store = new PostgresEventStore({ ...storeOptions, connection: connection(), schema, registry });
      schemas.set(store, schema);
      return store;
    },
    cleanup: async (store) => {
      await store.close();
      const schema = schemas.get(store);
      if (schema) {
        const executor = createSqlExecutor(connection());
        await dropSchema(executor, schema);
        await executor.close();
      }
    },
    ...extra,
  };
}
