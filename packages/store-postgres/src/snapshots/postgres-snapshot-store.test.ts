import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { postgresSnapshotStoreSuite } from '../testing/postgres-snapshot-store.suite.js';

// The snapshot store on embedded PostgreSQL (PGlite), in the default test run. PGlite is one
// session, so the contract's concurrent saves queue: on the server (.int.test.ts) they really race.
let db: PGlite;
let executor: SqlExecutor;

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
  executor = createSqlExecutor(db);
}, 120_000);

afterAll(async () => {
  await db.close();
});

postgresSnapshotStoreSuite(
  'PostgresSnapshotStore (PGlite)',
  () => executor,
  () => db,
);
