import { PGlite } from '@electric-sql/pglite';
import { isInvalidArgumentError } from '@es/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { dropSchema, recordingExecutor, uniqueSchema } from '../testing/test-support.js';
import { MIGRATIONS_TABLE, migrate } from './migrate.js';
import { readMigrationFiles } from './migration-files.js';

describe('migrate() on PGlite', () => {
  let db: PGlite;
  let executor: SqlExecutor;

  beforeAll(async () => {
    db = new PGlite();
    await db.waitReady;
    executor = createSqlExecutor(db);
  }, 60_000);

  afterAll(async () => {
    await db.close();
  });

  it('applies every file once, records it, and applies nothing the second time', async () => {
    const schema = uniqueSchema();
    const files = readMigrationFiles();
    const first = await migrate({ connection: db, schema });
    expect(first.applied).toEqual(files.map((file) => file.name));
    expect(first.alreadyApplied).toEqual([]);
    const second = await migrate({ connection: db, schema });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(files.map((file) => file.name));
    const recorded = await executor.query<{ version: number; name: string; checksum: string }>({
      text: `SELECT version, name, checksum FROM "${schema}"."${MIGRATIONS_TABLE}" ORDER BY version`,
    });
    expect(recorded.map((row) => row.name)).toEqual(files.map((file) => file.name));
    expect(recorded.map((row) => row.checksum)).toEqual(files.map((file) => file.checksum));
    await dropSchema(executor, schema);
  });

  it('creates the table and append function under a custom schema and table name', async () => {
    const schema = uniqueSchema();
    await migrate({ connection: executor, schema, table: 'ledger' });
    const objects = await executor.query<{ name: string }>({
      text: `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname LIKE 'ledger%' ORDER BY 1`,
      values: [schema],
    });
    expect(objects.map((row) => row.name)).toEqual(
      expect.arrayContaining(['ledger', 'ledger_pkey', 'ledger_type_position_idx']),
    );
    const functions = await executor.query<{ name: string }>({
      text: `SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = $1`,
      values: [schema],
    });
    expect(functions.map((row) => row.name)).toContain('ledger_append');
    // A second event table in the same schema gets its own migrations.
    const other = await migrate({ connection: executor, schema, table: 'audit' });
    expect(other.applied.length).toBeGreaterThan(0);
    await dropSchema(executor, schema);
  });

  it('rolls back everything when a file fails', async () => {
    const schema = uniqueSchema();
    const [first] = readMigrationFiles();
    const broken = { version: 2, name: '002_broken.sql', sql: 'SELECT * FROM no_such_table', checksum: 'x' };
    await expect(migrate({ connection: executor, schema, migrations: [first!, broken] })).rejects.toThrow(
      /no_such_table/,
    );
    const schemas = await executor.query({
      text: 'SELECT 1 FROM pg_namespace WHERE nspname = $1',
      values: [schema],
    });
    expect(schemas).toEqual([]);
  });

  it('rejects a hostile schema or table name before any SQL runs', async () => {
    const spy = recordingExecutor();
    for (const options of [
      { schema: 'x"; DROP SCHEMA public CASCADE; --' },
      { table: 'events; DELETE FROM events' },
      { schema: 'pg_catalog' },
    ]) {
      const error = await migrate({ connection: spy, ...options }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isInvalidArgumentError(error)).toBe(true);
    }
    expect(spy.statements).toEqual([]);
  });
});
