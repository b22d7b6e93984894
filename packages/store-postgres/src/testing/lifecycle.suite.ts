// Every PostgreSQL store after close(), run on PGlite (lifecycle.test.ts) and on a server
// (lifecycle.int.test.ts). Not part of the published API.
import { expectStoreClosed } from '@es/testing';
import { it } from '@jest/globals';
import type { PostgresConnection } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { PostgresEventStore } from '../events/postgres-event-store.js';
import { PostgresCheckpointStore } from '../projections/postgres-checkpoint-store.js';
import { PostgresPartitionLeaseStore } from '../projections/postgres-partition-lease-store.js';
import { PostgresProjectionStore } from '../projections/postgres-projection-store.js';
import { migrate } from '../schema/migrate.js';
import { PostgresSnapshotStore } from '../snapshots/postgres-snapshot-store.js';
import { dropSchema, uniqueSchema } from './test-support.js';

/**
 * `connection()` gives what a user would pass (a connection string, a pool, PGlite); `admin`
 * migrates and drops the test schema.
 */
export function closedStoreTests(connection: () => PostgresConnection, admin: () => SqlExecutor): void {
  it('every method of every store fails with StoreClosedError after close(); a second close() does nothing', async () => {
    const schema = uniqueSchema('es_closed');
    await migrate({ connection: admin(), schema });
    try {
      const events = new PostgresEventStore({ connection: connection(), schema });
      await events.appendEvents('s', 'no_stream', [{ type: 'Opened', data: {} }]);
      const snapshots = new PostgresSnapshotStore({ connection: connection(), schema });
      const checkpoints = new PostgresCheckpointStore({ connection: connection(), schema });
      const projections = new PostgresProjectionStore({ connection: connection(), schema });
      const leases = new PostgresPartitionLeaseStore({ connection: connection(), schema });
      const subscription = await events.subscribeToAppends(() => undefined);
      for (const store of [events, snapshots, checkpoints, projections, leases]) {
        await store.close();
        await store.close();
      }
      await subscription.close();
      await expectStoreClosed('PostgresEventStore', {
        appendEvents: () => events.appendEvents('s', 1, [{ type: 'Opened', data: {} }]),
        getEvents: () => events.getEvents('s'),
        getEventsByType: () => events.getEventsByType('Opened'),
        getAllEvents: () => events.getAllEvents(),
        getStreamVersion: () => events.getStreamVersion('s'),
        streamExists: () => events.streamExists('s'),
        subscribeToAppends: () => events.subscribeToAppends(() => undefined),
        migrate: () => events.migrate(),
      });
      const snapshot = {
        streamId: 's',
        aggregateVersion: 1,
        snapshotVersion: 1,
        state: {},
        createdAt: new Date(),
      };
      await expectStoreClosed('PostgresSnapshotStore', {
        save: () => snapshots.save(snapshot),
        load: () => snapshots.load('s'),
        delete: () => snapshots.delete('s'),
      });
      await expectStoreClosed('PostgresCheckpointStore', {
        load: () => checkpoints.load('p'),
        save: () => checkpoints.save('p', 1n),
        saveIf: () => checkpoints.saveIf('p', undefined, 1n),
        reset: () => checkpoints.reset('p'),
      });
      await expectStoreClosed('PostgresProjectionStore', {
        load: () => projections.load('p'),
        commitBatch: () => projections.commitBatch('p', undefined, 1n, async () => undefined),
        reset: () => projections.reset('p'),
        listParked: () => projections.listParked('p'),
        removeParked: () => projections.removeParked('p', 1n),
      });
      const fence = { group: 'g', partition: 0, token: 1n };
      await expectStoreClosed('PostgresPartitionLeaseStore', {
        heartbeat: () => leases.heartbeat('g', 'w', 1, 1000),
        leave: () => leases.leave('g', 'w'),
        acquire: () => leases.acquire('g', 0, 'w', 1000),
        renew: () => leases.renew(fence, 1000),
        isHeld: () => leases.isHeld(fence),
        release: () => leases.release(fence),
        describe: () => leases.describe('g'),
        reset: () => leases.reset('g'),
      });
    } finally {
      await dropSchema(admin(), schema);
    }
  });
}
