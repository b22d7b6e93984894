import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { migrate } from '../schema/migrate.js';
import { uniqueSchema } from '../testing/test-support.js';
import { PostgresPartitionLeaseStore } from './postgres-partition-lease-store.js';

jest.setTimeout(60_000);

// The first acquisition of a partition inserts its lease row. Racing first inserts meet on the
// (group, partition) key, which ON CONFLICT handles, but also on the (group, partition, token)
// key, which it does not: the store must still give the partition to exactly one of them, and
// answer the others "not acquired", not with an error.
describeWithService(
  'PostgresPartitionLeaseStore: racing first acquisitions (server)',
  'DATABASE_URL',
  (url) => {
    const contenders = 8;
    let pool: pg.Pool;
    let schema: string;
    let stores: PostgresPartitionLeaseStore[];

    beforeAll(async () => {
      pool = new pg.Pool({ connectionString: url, max: contenders });
      schema = uniqueSchema('es_lease_race');
      await migrate({ connection: pool, schema });
      stores = Array.from(
        { length: contenders },
        () => new PostgresPartitionLeaseStore({ connection: pool, schema }),
      );
    });

    afterAll(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    });

    it('gives a new partition to exactly one of 8 racing workers, and no error to the others', async () => {
      for (let round = 0; round < 40; round++) {
        const group = `race-${round}`;
        for (const [i, store] of stores.entries()) await store.heartbeat(group, `worker-${i}`, 4, 60_000);
        // Every connection busy first, so the inserts start together.
        const clients = await Promise.all(Array.from({ length: contenders }, () => pool.connect()));
        for (const client of clients) client.release();
        const outcomes = await Promise.allSettled(
          stores.map((store, i) => store.acquire(group, round % 4, `worker-${i}`, 60_000)),
        );
        const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
        expect(failures.map((failure) => String((failure as PromiseRejectedResult).reason))).toEqual([]);
        const won = outcomes.filter(
          (outcome) => outcome.status === 'fulfilled' && outcome.value !== undefined,
        );
        expect(won).toHaveLength(1);
        const { rows } = await pool.query(
          `SELECT owner, token FROM "${schema}".es_partition_leases WHERE group_name = $1`,
          [group],
        );
        expect(rows).toEqual([
          { owner: (won[0] as PromiseFulfilledResult<{ owner: string }>).value.owner, token: '1' },
        ]);
      }
    });
  },
);
