// One worker process of the drill's consumer group. It runs a ConsumerGroup over the PostgreSQL
// stores (leases, exactly-once read model) whose handler, in each batch's transaction, counts the
// event as handled, checks that the stream's versions arrive in order, and adds the event to the
// read model. It reports on stdout, one JSON object a line: `ready` once started, `owned` each time
// its partitions change, `stopped` after a clean stop (SIGTERM). SIGKILL is the crash the drill
// inflicts: nothing is cleaned up and its leases lapse.
import { ConsumerGroup } from '@es/replay';
import { PostgresEventStore, PostgresPartitionLeaseStore, PostgresProjectionStore } from '@es/store-postgres';
import pg from 'pg';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`scale-out-drill worker: ${name} is not set (the drill's test sets it).`);
  return value;
};
const url = env('DATABASE_URL');
const schema = env('DRILL_SCHEMA');
const workerId = env('DRILL_WORKER');
const group = env('DRILL_GROUP');
const partitions = Number(env('DRILL_PARTITIONS'));
const leaseTtlMs = Number(process.env.DRILL_LEASE_TTL_MS ?? 3000);
const heartbeatMs = Number(process.env.DRILL_HEARTBEAT_MS ?? 500);

const say = (message) => process.stdout.write(`${JSON.stringify({ worker: workerId, ...message })}\n`);
const q = `"${schema}"`;

// One statement per event (the handler's round trips dominate the drill's time). Every
// sub-statement sees the snapshot taken before the statement, so `previous` is the stream's last
// version before this event.
const HANDLE = `
  WITH handled AS (
    INSERT INTO ${q}.drill_handled AS h (event_id, handled, worker) VALUES ($1::uuid, 1, $5::text)
    ON CONFLICT (event_id) DO UPDATE SET handled = h.handled + 1
  ), previous AS (
    SELECT last_version FROM ${q}.drill_stream_order WHERE stream_id = $2::text
  ), ordered AS (
    INSERT INTO ${q}.drill_stream_order AS o (stream_id, last_version) VALUES ($2::text, $3::int)
    ON CONFLICT (stream_id) DO UPDATE SET last_version = EXCLUDED.last_version
  ), violation AS (
    INSERT INTO ${q}.drill_order_violations (stream_id, version, previous_version, worker)
    SELECT $2::text, $3::int, (SELECT last_version FROM previous), $5::text
    WHERE COALESCE((SELECT last_version FROM previous), 0) <> $3::int - 1
  )
  INSERT INTO ${q}.drill_totals AS t (stream_id, total, events) VALUES ($2::text, $4::bigint, 1)
  ON CONFLICT (stream_id) DO UPDATE SET total = t.total + EXCLUDED.total, events = t.events + 1`;

const pool = new pg.Pool({ connectionString: url, max: 6 });
const eventStore = new PostgresEventStore({ connection: pool, schema });
const consumerGroup = new ConsumerGroup({
  name: group,
  partitions,
  workerId,
  eventStore,
  leases: new PostgresPartitionLeaseStore({ connection: pool, schema }),
  readModel: new PostgresProjectionStore({ connection: pool, schema }),
  concurrency: 4,
  batchSize: 1000,
  leaseTtlMs,
  heartbeatMs,
  pollIntervalMs: 250,
  handler: async (event, sql) => {
    await sql.query({
      text: HANDLE,
      values: [event.eventId, event.streamId, event.version, event.data.amount, workerId],
    });
  },
  onRebalance: (owned) => say({ type: 'owned', partitions: owned }),
  onError: (error) => process.stderr.write(`[${workerId}] ${error?.stack ?? error}\n`),
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  consumerGroup
    .stop()
    .then(() => eventStore.close())
    .then(() => pool.end())
    .then(
      () => {
        say({ type: 'stopped', failure: consumerGroup.failure ? String(consumerGroup.failure) : undefined });
        process.exit(0);
      },
      (error) => {
        process.stderr.write(`[${workerId}] stop failed: ${error?.stack ?? error}\n`);
        process.exit(1);
      },
    );
});

consumerGroup.start();
say({ type: 'ready', pid: process.pid });
