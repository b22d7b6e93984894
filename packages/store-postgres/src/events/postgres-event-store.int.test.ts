import { describeEventStoreContract, describeWithService } from '@es/testing';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { contractConfig } from '../testing/contract-setup.js';

describeWithService('PostgresEventStore on a PostgreSQL server', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: url, max: 12 });
  });

  afterAll(async () => {
    await pool.end();
  });

  describeEventStoreContract(contractConfig('PostgresEventStore (server)', () => pool));
});
