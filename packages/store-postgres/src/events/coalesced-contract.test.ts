import { PGlite } from '@electric-sql/pglite';
import { describeEventStoreContract } from '@es/testing';
import { afterAll, beforeAll } from '@jest/globals';
import { contractConfig } from '../testing/contract-setup.js';

// The contract on PGlite with write coalescing on (issue 16). PGlite is one session: batches are
// serialised, and concurrent appends still share a batch.
let db: PGlite;

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
}, 120_000);

afterAll(async () => {
  await db.close();
});

describeEventStoreContract(
  contractConfig(
    'PostgresEventStore (PGlite, coalesce)',
    () => db,
    { timeoutMs: 60_000 },
    { coalesce: true },
  ),
);
