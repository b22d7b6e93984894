import { PGlite } from '@electric-sql/pglite';
import { describeCheckpointStoreContract } from '@es/testing';
import { afterAll } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresCheckpointStore } from './postgres-checkpoint-store.js';

// One embedded database for the file; each store gets its own schema.
const db = new PGlite();
const executor = createSqlExecutor(db);
const schemas = new WeakMap<object, string>();

afterAll(async () => {
  await db.close();
});

describeCheckpointStoreContract({
  name: 'PostgresCheckpointStore (PGlite)',
  create: async () => {
    const schema = uniqueSchema('es_cp');
    await migrate({ connection: executor, schema });
    const store = new PostgresCheckpointStore({ connection: executor, schema });
    schemas.set(store, schema);
    return store;
  },
  cleanup: async (store) => dropSchema(executor, schemas.get(store)!),
});
