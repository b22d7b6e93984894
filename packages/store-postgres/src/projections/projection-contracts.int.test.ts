import { describeWithService } from '@es/testing';
import { describePostgresProjectionContracts } from '../testing/projection-contracts.js';

// @es/testing's ProjectionStore, PartitionLeaseStore, ProjectionLock and ParkedEventStore contracts
// on a server. Each lock and lease store opens its own pool from the URL, as separate processes
// would; an abandoned lease lapses after the locks' ttlMs.
describeWithService('PostgreSQL projection contracts (server)', 'DATABASE_URL', (url) => {
  describePostgresProjectionContracts({
    label: 'server',
    connection: url,
    leaseTtlMs: 2000,
    heartbeatMs: 200,
  });
});
