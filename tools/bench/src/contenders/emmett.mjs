// Contender: Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql 0.42), in a
// database of its own: its migrations find their functions by name in any schema, so two copies
// cannot live in one database. Its global log is read with its own batch reader,
// readMessagesBatch, paging with `after` = the last global position it returned.
import { dumbo, endAllPools } from '@event-driven-io/dumbo';
import { getPostgreSQLEventStore, readMessagesBatch } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';

/** @param {{ url: string, schema: string, poolSize: number }} options */
export async function createEmmett({ url, schema, poolSize }) {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${schema}"`);
  const target = new URL(url);
  target.pathname = `/${schema}`;
  const connectionString = target.toString();
  const pool = dumbo({ connectionString, max: poolSize });
  const store = getPostgreSQLEventStore(connectionString, { connectionOptions: { dumbo: pool } });
  await store.schema.migrate();
  return {
    name: 'Emmett 0.42',
    append: async (streamId, expected, events) => {
      await store.appendToStream(streamId, events, { expectedStreamVersion: BigInt(expected) });
    },
    readStream: async (streamId) => (await store.readStream(streamId)).events.length,
    readAll: async (batchSize, visit) => {
      let after = 0n;
      for (;;) {
        const batch = await readMessagesBatch(pool.execute, { after, batchSize });
        for (const message of batch.messages) {
          visit(message.metadata.streamName, Number(message.metadata.streamPosition));
        }
        if (!batch.areMessagesLeft) return;
        after = batch.currentGlobalPosition;
      }
    },
    close: async () => {
      await store.close();
      await pool.close();
      // Emmett keeps pools per connection string; end them all before dropping the database.
      await endAllPools();
      // Some of its connections still outlive that; the forced drop below terminates them, and their
      // pools then emit 'error' with nobody listening. Those errors, and only those, are expected.
      process.on('uncaughtException', (error) => {
        if (error?.code !== '57P01') throw error;
      });
      await admin.query(`DROP DATABASE IF EXISTS "${schema}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
