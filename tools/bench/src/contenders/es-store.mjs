// Contender: @es/store-postgres, as an application would use it (notifications on, no registry).
import { migrate, PostgresEventStore } from '@es/store-postgres';
import pg from 'pg';

/** @param {{ url: string, schema: string, poolSize: number }} options */
export async function createEsStore({ url, schema, poolSize }) {
  await migrate(url, { schema });
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  const store = new PostgresEventStore({ connection: pool, schema });
  return {
    name: '@es/store-postgres',
    /** Appends `events` ({ type, data }[]) at exactly `expected` (0 = new stream). */
    append: async (streamId, expected, events) => {
      await store.appendEvents(streamId, expected, events);
    },
    /** Loads a stream; returns how many events it holds. */
    readStream: async (streamId) => (await store.getEvents(streamId)).length,
    /** Reads the global log from the start in batches, calling visit(streamId, version) per event. */
    readAll: async (batchSize, visit) => {
      for await (const event of store.getAllEvents(0n, { batchSize })) visit(event.streamId, event.version);
    },
    close: async () => {
      await store.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
