import { describeWithService } from '@es/testing';
import { describePostgresProjectionContracts } from '../testing/projection-contracts.js';

// @es/testing's ProjectionStore, ProjectionLock and ParkedEventStore contracts on a server. Each lock
// opens its own pool from the URL, as separate processes would; a holder whose connection is
// dropped loses its advisory lock when the server ends the session.
describeWithService('PostgreSQL projection contracts (server)', 'DATABASE_URL', (url) => {
  describePostgresProjectionContracts({
    label: 'server',
    connection: url,
    leaseTtlMs: 2000,
    heartbeatMs: 200,
  });
});
