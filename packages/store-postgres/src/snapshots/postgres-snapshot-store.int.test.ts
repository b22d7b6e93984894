import { describeWithService } from '@es/testing';
import { afterAll } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { postgresSnapshotStoreSuite } from '../testing/postgres-snapshot-store.suite.js';

// The snapshot store on a PostgreSQL server (DATABASE_URL): concurrent saves really race here.
describeWithService('PostgresSnapshotStore (server)', 'DATABASE_URL', (url) => {
  let executor: SqlExecutor | undefined;
  afterAll(async () => {
    await executor?.close();
  });
  postgresSnapshotStoreSuite(
    'PostgresSnapshotStore (server)',
    () => {
      executor ??= createSqlExecutor(url);
      return executor;
    },
    () => url,
  );
});
