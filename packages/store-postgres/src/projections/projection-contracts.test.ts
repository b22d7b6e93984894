import { PGlite } from '@electric-sql/pglite';
import { afterAll } from '@jest/globals';
import { describePostgresProjectionContracts } from '../testing/projection-contracts.js';

// @es/testing's ProjectionStore, PartitionLeaseStore, ProjectionLock and ParkedEventStore contracts
// on one embedded database. Leases are rows timed by the database's clock, as on a server.
const db = new PGlite();

describePostgresProjectionContracts({ label: 'PGlite', connection: db, leaseTtlMs: 300, heartbeatMs: 50 });
// After the suites' own clean-up (hooks at one level run in the order they were declared).
afterAll(() => db.close());
