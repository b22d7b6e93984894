import { randomUUID } from 'node:crypto';
import { ExpectedVersion, isEventStoreUnavailableError, type StoredEvent } from '@es/core';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { PostgresEventStore } from '../src/events/postgres-event-store.js';
import { migrate } from '../src/schema/migrate.js';
import { PostgresSnapshotStore } from '../src/snapshots/postgres-snapshot-store.js';
import { describePostgresProjectionContracts } from '../src/testing/projection-contracts.js';
import { uniqueSchema } from '../src/testing/test-support.js';
import { describeWithPgBouncer, type PgBouncer, startPgBouncer } from './pgbouncer.js';

jest.setTimeout(60_000);

const direct = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS = 12;
const POOL_SIZE = 3;

// Every store behind PgBouncer in transaction mode with 3 server connections shared by more
// clients: no session state may leak between transactions, and with preparedStatements off no
// named statement is sent (PgBouncer 1.18, Debian bookworm's, does not track them).
describeWithPgBouncer('The stores behind PgBouncer (transaction mode)', (binary) => {
  let pooler: PgBouncer;
  beforeAll(async () => {
    pooler = await startPgBouncer(binary, { poolSize: POOL_SIZE });
  });

  describe('events', () => {
    let pool: pg.Pool;
    let schema: string;
    let store: PostgresEventStore;
    beforeAll(async () => {
      pool = new pg.Pool({ connectionString: pooler.url(), max: CLIENTS });
      schema = uniqueSchema('es_bouncer');
      await migrate({ connection: pool, schema });
      store = new PostgresEventStore({
        connection: pool,
        schema,
        preparedStatements: false,
        listenConnection: direct,
      });
    });
    afterAll(async () => {
      await store.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    });

    it('appends and reads from more concurrent clients than server connections', async () => {
      const streams = Array.from({ length: 40 }, (_, i) => `account-${i}`);
      await Promise.all(
        streams.map(async (stream) => {
          await store.appendEvents(stream, ExpectedVersion.NoStream, [{ type: 'Opened', data: { stream } }]);
          for (let version = 1; version <= 4; version++) {
            await store.appendEvents(stream, version, [{ type: 'Deposited', data: { amount: version } }]);
          }
        }),
      );
      const read = await Promise.all(streams.map((stream) => store.getEvents(stream)));
      expect(read.map((events) => events.length)).toEqual(streams.map(() => 5));
      expect(await Promise.all(streams.map((stream) => store.getStreamVersion(stream)))).toEqual(
        streams.map(() => 5),
      );
      // The log shows the events once every older transaction on the (shared) server has ended.
      let log: StoredEvent[] = [];
      for (const deadline = Date.now() + 30_000; log.length < 200 && Date.now() < deadline; ) {
        log = [];
        for await (const event of store.getAllEvents(0n, { batchSize: 17 })) log.push(event);
        if (log.length < 200) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(log).toHaveLength(200);
      const positions = log.map((event) => event.position);
      expect([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(positions);
      const byType = await store.getEventsByType('Opened');
      expect(byType).toHaveLength(40);
    });

    it('a stale expected version is still a conflict, and snapshots save and load', async () => {
      await store.appendEvents('conflict', ExpectedVersion.NoStream, [{ type: 'Opened', data: {} }]);
      await expect(
        store.appendEvents('conflict', ExpectedVersion.NoStream, [{ type: 'Opened', data: {} }]),
      ).rejects.toMatchObject({ code: 'ES_CONCURRENCY_CONFLICT' });
      const snapshots = new PostgresSnapshotStore({ connection: pool, schema, preparedStatements: false });
      await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) =>
          snapshots.save({
            streamId: `snap-${i}`,
            aggregateVersion: 1,
            snapshotVersion: 1,
            state: { i },
            createdAt: new Date(),
          }),
        ),
      );
      const loaded = await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) => snapshots.load(`snap-${i}`)),
      );
      expect(loaded.map((snapshot) => snapshot?.state)).toEqual(
        Array.from({ length: CLIENTS }, (_, i) => ({ i })),
      );
      await snapshots.close();
    });

    it('wakes subscribers through listenConnection for appends made through the pooler', async () => {
      let woken!: () => void;
      const wake = new Promise<void>((resolve) => {
        woken = resolve;
      });
      const subscription = await store.subscribeToAppends(() => woken());
      await store.appendEvents(`notified-${randomUUID()}`, ExpectedVersion.NoStream, [
        { type: 'Opened', data: {} },
      ]);
      await wake;
      await subscription.close();
    });

    it('with named prepared statements, PgBouncer before 1.21 mixes them up between clients', async () => {
      if (pooler.version >= 121) {
        // Newer PgBouncer tracks prepared statements; nothing to show.
        return;
      }
      // Two clients, one after the other: PgBouncer hands both the same idle server connection,
      // where the first client's statement already exists under the name the second one prepares.
      const failures: unknown[] = [];
      for (let i = 0; i < 4; i++) {
        const one = new pg.Pool({ connectionString: pooler.url(), max: 1 });
        const named = new PostgresEventStore({ connection: one, schema, notify: false });
        await named.getEvents('account-1').catch((error: unknown) => failures.push(error));
        await named.close();
        await one.end();
      }
      expect(failures.length).toBeGreaterThan(0);
      expect(isEventStoreUnavailableError(failures[0])).toBe(true);
      expect(String((failures[0] as Error).message)).toMatch(/prepared statement/);
    });
  });

  // The projection store (with fences), the lease store and the projection lock, each over its own
  // pool through the pooler, unnamed statements. The connection is read when the tests run.
  describePostgresProjectionContracts({
    label: 'PgBouncer, transaction mode',
    get connection() {
      return pooler.url();
    },
    leaseTtlMs: 2000,
    heartbeatMs: 200,
    preparedStatements: false,
  });

  // Declared last: runs after the suites' own clean-up.
  afterAll(async () => {
    await pooler?.stop();
  });
});
