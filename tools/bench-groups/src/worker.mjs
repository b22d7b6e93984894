// One worker process of a consumer group (forked by main.mjs). Its configuration comes as JSON in
// argv[2]. It connects, reports 'ready', starts the group on 'go', reports its partitions on every
// rebalance and, when `latency` is set, the append-to-handled and append-to-committed latencies
// of the events it handled. 'stop' stops the group cleanly and reports the events it handled.
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsumerGroup } from '@es/replay';
import { PostgresEventStore, PostgresPartitionLeaseStore, PostgresProjectionStore } from '@es/store-postgres';
import pg from 'pg';
import { BatchedReadModel } from './read-model.mjs';
import { traceWorker } from './trace.mjs';

const config = JSON.parse(process.argv[2]);
const send = (message) => process.connected && process.send(message);

const pool = new pg.Pool({ connectionString: config.url, max: config.concurrency + 4 });
const eventStore = new PostgresEventStore({ connection: pool, schema: config.schema });
const leases = new PostgresPartitionLeaseStore({ connection: pool, schema: config.schema });

let handled = 0;
let handledLatencies = [];
let committedLatencies = [];
const readModel = new BatchedReadModel(
  new PostgresProjectionStore({ connection: pool, schema: config.schema }),
  {
    schema: config.schema,
    group: config.group,
    onCommitted: config.latency
      ? (events) => {
          const now = Date.now();
          for (const event of events) committedLatencies.push(now - event.data.appendedAt);
        }
      : undefined,
  },
);

const record = config.latency
  ? (event) => handledLatencies.push(Date.now() - event.data.appendedAt)
  : () => undefined;

// CPU-light: fold the event into the share's pending row. I/O-bound: the same after ~1 ms of
// awaited latency (a call to another service, say), one event after the other.
const handler =
  config.handler === 'io'
    ? async (event, context) => {
        await sleep(1);
        handled++;
        record(event);
        context.fold(event);
      }
    : (event, context) => {
        handled++;
        record(event);
        context.fold(event);
      };

const traced = process.env.BENCH_GROUPS_TRACE
  ? traceWorker(config.workerId, eventStore, readModel)
  : undefined;

const group = new ConsumerGroup({
  name: config.group,
  partitions: config.partitions,
  eventStore,
  leases,
  readModel,
  handler,
  workerId: config.workerId,
  concurrency: config.concurrency,
  batchSize: config.batchSize,
  leaseTtlMs: config.leaseTtlMs,
  heartbeatMs: config.heartbeatMs,
  onError: (error) => send({ type: 'error', message: String(error?.message ?? error) }),
  onRebalance: (owned) => send({ type: 'rebalance', workerId: config.workerId, owned, at: Date.now() }),
});

let flushing;
function flushLatencies() {
  if (handledLatencies.length === 0 && committedLatencies.length === 0) return;
  send({ type: 'latency', handled: handledLatencies, committed: committedLatencies });
  handledLatencies = [];
  committedLatencies = [];
}

process.on('message', async (message) => {
  if (message.type === 'go') {
    group.start();
    if (config.latency) flushing = setInterval(flushLatencies, 250);
  } else if (message.type === 'stop') {
    await group.stop();
    clearInterval(flushing);
    flushLatencies();
    await eventStore.close();
    await pool.end();
    traced?.();
    const cpu = process.cpuUsage();
    send({ type: 'stopped', workerId: config.workerId, handled, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    process.disconnect();
  }
});

send({ type: 'ready', workerId: config.workerId });
