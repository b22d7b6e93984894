import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../connection/connection.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

// A read of a rare type must cost what it returns: the (type, position) index, not a walk of the
// primary key past the other types' events. The statement the store sends is captured and run
// again under EXPLAIN (ANALYZE, BUFFERS): the buffers it touches are a property of the plan, not
// of the machine's speed. Before each type became a parameter of its own, the planner could not see
// the type (it was unnested inside the statement) and read 1,881 buffers here for 10 rows.
describeWithService(
  'getEventsByType on a PostgreSQL server: the plan of a rare type',
  'DATABASE_URL',
  (url) => {
    const schema = uniqueSchema();
    let pool: pg.Pool;
    let sent: pg.QueryConfig[];
    let store: PostgresEventStore;

    beforeAll(async () => {
      pool = new pg.Pool({ connectionString: url, max: 2 });
      await migrate({ connection: pool, schema });
      const table = `"${schema}".events`;
      // 100,000 events in streams of 100: one in 10,000 of type Rare, one in 20,000 AlsoRare.
      await pool.query(`INSERT INTO ${table} (position, stream_id, version, event_id, event_id_supplied, type,
                                            schema_version, data, metadata, created_at)
      SELECT g, 'g-' || ((g - 1) / 100), ((g - 1) % 100) + 1, gen_random_uuid(), false,
             CASE WHEN g % 10000 = 5000 THEN 'Rare' WHEN g % 20000 = 7 THEN 'AlsoRare' ELSE 'Common' END,
             1, jsonb_build_object('n', g), '{}', now()
      FROM generate_series(1, 100000) g`);
      await pool.query(`VACUUM ANALYZE ${table}`);
      sent = [];
      const recording = {
        query: (config: pg.QueryConfig) => {
          sent.push(config);
          return pool.query(config);
        },
        connect: () => pool.connect(),
        end: async () => undefined,
      } as unknown as pg.Pool;
      store = new PostgresEventStore({ connection: recording, schema, notify: false });
    });

    afterAll(async () => {
      const executor = createSqlExecutor(pool);
      await dropSchema(executor, schema);
      await executor.close();
      await pool.end();
    });

    async function buffersOf(read: () => Promise<unknown>): Promise<number> {
      sent.length = 0;
      await read();
      // The read is the one statement sent with rowMode 'array'.
      const statement = sent.find((config) => (config as { rowMode?: string }).rowMode === 'array');
      if (!statement) throw new Error('the type read sent no statement');
      const { rows } = await pool.query<{
        'QUERY PLAN': [{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }];
      }>({
        text: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
        values: statement.values,
      });
      const plan = rows[0]!['QUERY PLAN'][0].Plan;
      return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
    }

    it('reads the (type, position) range of one rare type, stopped by the limit', async () => {
      const events = await store.getEventsByType('Rare', undefined, { afterPosition: 1_000n, limit: 10 });
      expect(events.map((event) => event.position)).toEqual(
        Array.from({ length: 10 }, (_, i) => BigInt(5_000 + 10_000 * i)),
      );
      const buffers = await buffersOf(() =>
        store.getEventsByType('Rare', undefined, { afterPosition: 1_000n, limit: 10 }),
      );
      expect(buffers).toBeLessThan(100);
    });

    it('reads one range per type for two rare types, merged in position order', async () => {
      const events = await store.getEventsByType(['Rare', 'AlsoRare'], undefined, {
        afterPosition: 1_000n,
        limit: 10,
      });
      expect(events.map((event) => event.position)).toEqual(
        [5_000, 15_000, 20_007, 25_000, 35_000, 40_007, 45_000, 55_000, 60_007, 65_000].map(BigInt),
      );
      const buffers = await buffersOf(() =>
        store.getEventsByType(['Rare', 'AlsoRare'], undefined, { afterPosition: 1_000n, limit: 10 }),
      );
      expect(buffers).toBeLessThan(150);
    });

    it('reads one range per type for a follower filtered by rare types (getAllEvents with eventTypes)', async () => {
      const firstBatch = async () => {
        const events: bigint[] = [];
        for await (const event of store.getAllEvents(1_000n, {
          batchSize: 5,
          eventTypes: ['Rare', 'AlsoRare'],
        })) {
          events.push(event.position);
          if (events.length === 5) break;
        }
        return events;
      };
      expect(await firstBatch()).toEqual([5_000, 15_000, 20_007, 25_000, 35_000].map(BigInt));
      expect(await buffersOf(firstBatch)).toBeLessThan(150);
    });
  },
);
