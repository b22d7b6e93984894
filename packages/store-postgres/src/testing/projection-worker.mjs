// A projection process for the kill test: projects the log exactly-once into <schema>.handled and
// <schema>.balances, slowly, then exits once it has caught up. Run by projection-kill.int.test.ts.
import { Projection } from '@es/replay';
import { PostgresEventStore, PostgresProjectionStore } from '@es/store-postgres';
import pg from 'pg';

const [url, schema, name, delayMs] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 3 });
const eventStore = new PostgresEventStore({ connection: pool, schema });
const projection = new Projection({
  name,
  eventStore,
  readModel: new PostgresProjectionStore({ connection: pool, schema }),
  batchSize: 20,
  handler: async (event, sql) => {
    await sql.query({
      text: `INSERT INTO "${schema}".handled (position, event_id, stream_id) VALUES ($1, $2, $3)`,
      values: [event.position.toString(), event.eventId, event.streamId],
    });
    const amount = event.type === 'Deposited' ? event.data.amount : 0;
    await sql.query({
      text: `INSERT INTO "${schema}".balances (stream_id, balance, version) VALUES ($1, $2, $3)
             ON CONFLICT (stream_id) DO UPDATE SET balance = balances.balance + $2, version = $3
             WHERE balances.version = $3 - 1`,
      values: [event.streamId, amount, event.version],
    });
    await new Promise((resolve) => setTimeout(resolve, Number(delayMs)));
  },
});
projection.start();
await projection.waitForIdle();
await projection.stop();
await eventStore.close();
await pool.end();
process.stdout.write('caught up\n');
