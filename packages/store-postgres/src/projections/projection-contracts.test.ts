import { PGlite } from '@electric-sql/pglite';
import { afterAll } from '@jest/globals';
import { describePostgresProjectionContracts } from '../testing/projection-contracts.js';

// @es/testing's ProjectionStore, ProjectionLock and ParkedEventStore contracts on one embedded
// database. PGlite is one session: the lock keeps count of the keys it holds there.
const db = new PGlite();

describePostgresProjectionContracts({ label: 'PGlite', connection: db, leaseTtlMs: 200 });
// After the suites' own clean-up (hooks at one level run in the order they were declared).
afterAll(() => db.close());
