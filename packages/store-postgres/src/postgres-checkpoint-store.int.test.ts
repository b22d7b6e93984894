import { describeCheckpointStoreContract, describeWithService } from '@es/testing';
import { afterAll } from '@jest/globals';
import { createSqlExecutor } from './connection.js';
import { migrate } from './migrate.js';
import { PostgresCheckpointStore } from './postgres-checkpoint-store.js';
import type { SqlExecutor } from './sql-executor.js';
import { dropSchema, uniqueSchema } from './test-support.js';

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
      await migrate(executor, { schema });
      const store = new PostgresCheckpointStore(executor, { schema });
      schemas.set(store, schema);
      return store;
    },
    cleanup: async (store) => dropSchema(executor!, schemas.get(store)!),
  });
});
