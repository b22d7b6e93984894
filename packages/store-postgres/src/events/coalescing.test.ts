import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from '@jest/globals';
import { describeCoalescing } from '../testing/coalescing.suite.js';

// Write coalescing on PGlite: one session, so batches are serialised; appends still share them.
let db: PGlite;

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
}, 120_000);

afterAll(async () => {
  await db.close();
});

describeCoalescing('PGlite', () => db);
