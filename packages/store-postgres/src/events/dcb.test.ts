import { PGlite } from '@electric-sql/pglite';
import { describeDcbContract } from '@es/testing';
import { afterAll, beforeAll } from '@jest/globals';
import { contractConfig } from '../testing/contract-setup.js';

// Dynamic consistency boundaries on embedded PostgreSQL (PGlite): the same SQL as on a server, but
// one session, so the race tests would only interleave whole calls; they run on the server.
let db: PGlite;

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
}, 120_000);

afterAll(async () => {
  await db.close();
});

describeDcbContract(
  contractConfig('PostgresEventStore (PGlite)', () => db, {
    timeoutMs: 60_000,
    limitations: {
      concurrentWriters:
        'PGlite is one session: calls queue, so racing appenders never overlap (the server suite races them)',
    },
  }),
);
