import { ExpectedVersion } from '@es/core';
import { PostgresEventStore } from '@es/store-postgres';
import { describeWithService } from '@es/testing';
import pg from 'pg';
import { seed } from './seed.js';
import { consoleSuite } from './suite.js';

// The console on the PostgreSQL server named by DATABASE_URL, in a fresh schema of this run's own.
describeWithService('es console on a PostgreSQL server', 'DATABASE_URL', (url) => {
  consoleSuite('server', async () => {
    const schema = `console_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const seeded = await seed(pool, schema);
    const store = new PostgresEventStore({ connection: pool, schema });
    return {
      source: { kind: 'postgres', url },
      schema,
      seeded,
      async append(streamId, type, data) {
        return (await store.appendEvents(streamId, ExpectedVersion.Any, [{ type, data }])).lastPosition;
      },
      async isVisible(position) {
        for await (const event of store.getAllEvents(position - 1n, { batchSize: 1, toPosition: position })) {
          if (event.position === position) return true;
        }
        return false;
      },
      async cleanup() {
        await store.close();
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await pool.end();
      },
    };
  });
});
