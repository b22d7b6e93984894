import { describeCheckpointStoreContract, describeWithService } from '@es/testing';
import { afterAll } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresCheckpointStore } from './postgres-checkpoint-store.js';

describeWithService('PostgresCheckpointStore (server)', 'DATABASE_URL', (url) => {
  let executor: SqlExecutor | undefined;
  const schemas = new WeakMap<object, string>();
  afterAll(async () => {
    await executor?.close();
  });

  describeCheckpointStoreContract({
    name: 'PostgresCheckpointStore (server)',
    create: async () => {
      executor ??= createSqlExecutor(url);
      const schema = uniqueSchema('es_cp');
      await migrate({ connection: executor, schema });
      const store = new PostgresCheckpointStore({ connection: executor, schema });
      schemas.set(store, schema);
      return store;
    },
    cleanup: async (store) => dropSchema(executor!, schemas.get(store)!),
  });
});
