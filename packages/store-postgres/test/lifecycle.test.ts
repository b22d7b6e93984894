import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe } from '@jest/globals';
import { createSqlExecutor } from '../src/connection/connection.js';
import { closedStoreTests } from '../src/testing/lifecycle.suite.js';

const db = new PGlite();
const admin = createSqlExecutor(db);

afterAll(async () => {
  await db.close();
});

describe('PostgreSQL stores after close() (PGlite)', () => {
  // The PGlite instance stays open (it is the caller's), yet the closed stores refuse every call.
  closedStoreTests(
    () => db,
    () => admin,
  );
});
