import { describeDcbContract, describeWithService } from '@es/testing';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { contractConfig } from '../testing/contract-setup.js';

// Dynamic consistency boundaries on a real server: 8 conditional appenders race with the same
// condition over 100 rounds (exactly one wins each), disjoint tags never conflict, no write skew.
describeWithService('PostgresEventStore DCB on a PostgreSQL server', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;

  beforeAll(() => {
    // More connections than racers, so every racer holds its own transaction at once.
    pool = new pg.Pool({ connectionString: url, max: 12 });
  });

  afterAll(async () => {
    await pool.end();
  });

  const config = contractConfig('PostgresEventStore (server)', () => pool);
  describeDcbContract({
    ...config,
    racers: 8,
    rounds: 100,
  });
});
