import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { migrate } from './migrate.js';
import { readMigrationFiles } from './migration-files.js';

describeWithService('migrate() on a PostgreSQL server', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;
  let executor: SqlExecutor;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: url, max: 10 });
    executor = createSqlExecutor(pool);
  });

  afterAll(async () => {
    await pool.end();
  });

  it('is safe when several processes migrate the same new schema at once', async () => {
    const schema = uniqueSchema();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => migrate({ connection: url, schema, table: 'events' })),
    );
    const names = readMigrationFiles().map((file) => file.name);
    // Exactly one run applied the files; the others waited on the lock and found them applied.
    expect(results.filter((result) => result.applied.length > 0)).toHaveLength(1);
    for (const result of results) expect([...result.applied, ...result.alreadyApplied]).toEqual(names);
    const recorded = await executor.query<{ count: string }>({
      text: `SELECT count(*)::text AS count FROM "${schema}".es_migrations`,
    });
    expect(recorded[0]!.count).toBe(String(names.length));
    await dropSchema(executor, schema);
  });
});
