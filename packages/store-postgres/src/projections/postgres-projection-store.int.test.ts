import { isEventStoreUnavailableError } from '@es/core';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresProjectionStore } from './postgres-projection-store.js';

describeWithService(
  'PostgresProjectionStore when the batch connection dies (server)',
  'DATABASE_URL',
  (url) => {
    let admin: SqlExecutor;
    let pool: pg.Pool;
    const schema = uniqueSchema('es_proj_cut');

    beforeAll(async () => {
      admin = createSqlExecutor(url);
      await migrate({ connection: admin, schema });
      pool = new pg.Pool({ connectionString: url, max: 2 });
      pool.on('error', () => undefined);
    });

    afterAll(async () => {
      await pool.end();
      await dropSchema(admin, schema);
      await admin.close();
    });

    it('reports the dead connection as EventStoreUnavailableError from attempt(), not as the handler failing', async () => {
      const store = new PostgresProjectionStore({ connection: pool, schema });
      const attempts: unknown[] = [];
      const outcome = await store
        .commitBatch('cut', undefined, 1n, async (batch) => {
          // The handler's own statement loses its connection (the server ends this backend).
          const error = await batch
            .attempt(async (sql) => {
              await sql.query({ text: 'SELECT pg_terminate_backend(pg_backend_pid())' });
            })
            .catch((e: unknown) => e);
          attempts.push(error);
          throw error;
        })
        .catch((error: unknown) => error);
      expect(attempts).toHaveLength(1);
      expect(isEventStoreUnavailableError(attempts[0])).toBe(true);
      expect(isEventStoreUnavailableError(outcome)).toBe(true);
      // Nothing was kept, and the next batch runs on a fresh connection.
      expect(await store.load('cut')).toBeUndefined();
      expect(await store.commitBatch('cut', undefined, 1n, async () => undefined)).toBe(true);
      await store.close();
    });
  },
);
