import { isLeaseLostError } from '@es/core';
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { describeOnScratchCluster } from '../../test/scratch-cluster.js';
import { migrate } from '../schema/migrate.js';
import { uniqueSchema } from '../testing/test-support.js';
import { PostgresPartitionLeaseStore } from './postgres-partition-lease-store.js';
import { PostgresProjectionStore } from './postgres-projection-store.js';

jest.setTimeout(30_000);

// How a fenced batch and the lease table's writers interleave on a server: the batch's row lock on
// its lease makes a takeover wait for the batch's commit, but lets its holder renew meanwhile.
// On a cluster of its own: the transactions it holds open would hold back other tests' reads of the log.
describeOnScratchCluster('Fenced batches and lease takeovers (server)', (url) => {
  let pool: pg.Pool;
  let other: pg.Pool;
  let schema: string;
  let store: PostgresProjectionStore;
  let leases: PostgresPartitionLeaseStore;
  let contender: PostgresPartitionLeaseStore;

  beforeEach(async () => {
    pool = new pg.Pool({ connectionString: url(), max: 4 });
    // A lease call that waits on a lock fails after 5 s instead of hanging the test.
    other = new pg.Pool({ connectionString: url(), max: 4, options: '-c lock_timeout=5000' });
    schema = uniqueSchema('es_fence');
    await migrate({ connection: pool, schema });
    await pool.query(`CREATE TABLE "${schema}".writes (marker text PRIMARY KEY)`);
    store = new PostgresProjectionStore({ connection: pool, schema });
    leases = new PostgresPartitionLeaseStore({ connection: pool, schema });
    contender = new PostgresPartitionLeaseStore({ connection: other, schema });
  });

  afterEach(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await other.end();
    await pool.end();
  });

  const waitingOnLock = async (): Promise<boolean> => {
    const { rows } = await pool.query(
      `SELECT 1 FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%es_partition_leases%'`,
    );
    return rows.length > 0;
  };

  it('lets the holder renew and check its lease while its batch is open', async () => {
    await leases.heartbeat('g', 'worker-a', 1, 60_000);
    const lease = (await leases.acquire('g', 0, 'worker-a', 60_000))!;
    const committed = await store.commitBatch(
      'g#0',
      undefined,
      4n,
      async () => {
        expect(await contender.renew(lease, 60_000)).toBe(true);
        expect(await contender.isHeld(lease)).toBe(true);
      },
      lease,
    );
    expect(committed).toBe(true);
  });

  it('refuses at commit, keeping nothing, a batch whose lease was taken over during its work', async () => {
    await leases.heartbeat('g', 'worker-a', 1, 60_000);
    const old = (await leases.acquire('g', 0, 'worker-a', 500))!;
    let taken: { owner: string | undefined; token: bigint } | undefined;
    const refused = await store
      .commitBatch(
        'g#0',
        undefined,
        4n,
        async (batch) => {
          await batch.attempt(async (sql) => {
            await sql.query({ text: `INSERT INTO "${schema}".writes VALUES ('written by a lapsed holder')` });
          });
          // The lease lapses while the batch works; another worker takes the partition at once:
          // nothing of this batch holds the lease row yet.
          while (await contender.isHeld(old)) await new Promise((resolve) => setTimeout(resolve, 50));
          taken = await contender.acquire('g', 0, 'worker-b', 60_000);
        },
        old,
      )
      .catch((error: unknown) => error);
    expect(isLeaseLostError(refused)).toBe(true);
    expect(taken?.owner).toBe('worker-b');
    expect((await pool.query(`SELECT marker FROM "${schema}".writes`)).rows).toEqual([]);
    expect(await store.load('g#0')).toBeUndefined();
    expect(await store.commitBatch('g#0', undefined, 4n, async () => undefined, taken as never)).toBe(true);
  });

  it('makes a takeover tried after the batch locked its lease wait for the commit', async () => {
    await leases.heartbeat('g', 'worker-a', 1, 60_000);
    const old = (await leases.acquire('g', 0, 'worker-a', 1_000))!;
    expect(await store.commitBatch('g#0', undefined, 1n, async () => undefined, old)).toBe(true);
    // Hold the checkpoint row, so the next batch stops after its locked fence check, at the update.
    const blocker = await other.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${schema}".es_checkpoints WHERE subscription_id = 'g#0' FOR UPDATE`);
    let takeover: Promise<unknown> | undefined;
    try {
      const committing = store.commitBatch('g#0', 1n, 4n, async () => undefined, old);
      // The batch's final check locks the lease row; wait until its update waits on the blocker.
      for (let tries = 0; ; tries++) {
        const { rows } = await pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND query LIKE '%es_checkpoints%' AND query NOT LIKE '%pg_stat_activity%'`,
        );
        if (rows.length > 0) break;
        if (tries > 250) throw new Error('the batch did not reach its checkpoint update');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // the lease lapses meanwhile
      takeover = contender.acquire('g', 0, 'worker-b', 60_000);
      for (let tries = 0; !(await waitingOnLock()); tries++) {
        if (tries > 250) throw new Error('the takeover did not wait for the batch holding the lease row');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await blocker.query('COMMIT');
      expect(await committing).toBe(true);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
    const taken = (await takeover) as { owner: string; token: bigint };
    expect(taken.owner).toBe('worker-b');
    expect(taken.token > old.token).toBe(true);
    // The new owner starts from the checkpoint the old batch committed.
    expect(await store.load('g#0')).toBe(4n);
    const late = await store.commitBatch('g#0', 4n, 8n, async () => undefined, old).catch((error) => error);
    expect(isLeaseLostError(late)).toBe(true);
  });
});
