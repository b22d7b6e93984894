import { describeEventStoreContract, describeWithService } from '@es/testing';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { contractConfig } from '../testing/contract-setup.js';

// The whole contract again with write coalescing on (issue 16): every invariant must hold when
// concurrent appends share one transaction.
describeWithService('PostgresEventStore with coalescing on a PostgreSQL server', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: url, max: 12 });
  });

  afterAll(async () => {
    await pool.end();
  });

  describeEventStoreContract(
    contractConfig('PostgresEventStore (server, coalesce)', () => pool, {}, { coalesce: true }),
  );
});
