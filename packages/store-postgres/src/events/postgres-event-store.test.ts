import { PGlite } from '@electric-sql/pglite';
import { describeEventStoreContract } from '@es/testing';
import { afterAll, beforeAll } from '@jest/globals';
import { contractConfig } from '../testing/contract-setup.js';

// The contract on embedded PostgreSQL (PGlite), in the default test run. PGlite is one session:
// concurrent calls queue, so the concurrency tests run too but exercise interleaving, not parallelism.
let db: PGlite;

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
}, 120_000);

afterAll(async () => {
  await db.close();
});

describeEventStoreContract(contractConfig('PostgresEventStore (PGlite)', () => db, { timeoutMs: 60_000 }));
