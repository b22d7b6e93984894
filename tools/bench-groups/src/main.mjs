// ConsumerGroup benchmark: catch-up throughput with 1, 2 and 4 worker processes (and 1 process with
// concurrency 4), for a CPU-light and an I/O-bound handler; live append-to-handled latency with 2
// workers following; rebalance time after one of 3 workers is killed. Prints one table per measure.
//
//   node tools/bench-groups/src/main.mjs [--events 200000] [--io-events 50000] [--rounds 1]
//        [--partitions 8] [--streams 2000] [--live-seconds 15] [--rate 500] [--only catchup,live,rebalance]
//        [--handlers io,cpu] [--url postgres://...]
//
// Runs against DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) in a fresh schema,
// dropped at the end. A script, not a test: the figures depend on the machine and its load.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ExpectedVersion, partitionSubscriptionId } from '@es/core';
import { describeConsumerGroup } from '@es/replay';
import {
  migrate,
  PostgresEventStore,
  PostgresPartitionLeaseStore,
  PostgresProjectionStore,
} from '@es/store-postgres';
import pg from 'pg';
import { countedEvents, createReadModelTable } from './read-model.mjs';
import { median, percentile, printTable, seconds, thousands } from './table.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const url = option('url', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const events = Number(option('events', '200000'));
const ioEvents = Math.min(events, Number(option('io-events', '50000')));
const rounds = Number(option('rounds', '1'));
const partitions = Number(option('partitions', '8'));
const streams = Number(option('streams', '2000'));
const batchSize = Number(option('batch-size', '500'));
const liveSeconds = Number(option('live-seconds', '15'));
const rate = Number(option('rate', '500'));
const killAfterSeconds = Number(option('kill-after', '5'));
const rebalanceSeconds = Number(option('rebalance-seconds', '25'));
const only = new Set(option('only', 'catchup,live,rebalance').split(','));
const handlers = option('handlers', 'io,cpu').split(',');
// Partition shares each following worker commits at once (ConsumerGroup's `concurrency`).
const followConcurrency = Number(option('follow-concurrency', '1'));
const followTtlMs = 5000;
const followHeartbeatMs = 1000;
const catchUpTtlMs = 5000;
const catchUpHeartbeatMs = 500;
const WRITERS = 4;
const APPEND_CHUNK = 10;

const schema = `bench_groups_${randomBytes(4).toString('hex')}`;
const pool = new pg.Pool({ connectionString: url, max: 12 });
const eventStore = new PostgresEventStore({ connection: pool, schema });
const leases = new PostgresPartitionLeaseStore({ connection: pool, schema });
const projections = new PostgresProjectionStore({ connection: pool, schema });
const partitionIds = (group) =>
  Array.from({ length: partitions }, (_, p) => partitionSubscriptionId(group, p));

async function eventCount() {
  const { rows } = await pool.query(`SELECT count(*) AS n FROM "${schema}".events`);
  return Number(rows[0].n);
}

/**
 * Waits until every partition's checkpoint reaches `target`. A stall of 3 s is reported with the
 * oldest open transactions of the server: followers read no further than the oldest running
 * transaction id (positions are transaction ids), so any long transaction on the server, even in
 * another database, holds every follower back.
 */
async function waitForCheckpoints(group, target) {
  let last = -1n;
  let progressedAt = performance.now();
  let reported = false;
  for (;;) {
    const least = await leastCheckpoint(group);
    if (least >= target) return;
    if (least !== last) {
      last = least;
      progressedAt = performance.now();
      reported = false;
    } else if (!reported && performance.now() - progressedAt > 3000) {
      reported = true;
      const { rows } = await pool.query(
        `SELECT datname, pid, state, round(extract(epoch FROM now() - xact_start)) AS age_s, left(query, 60) AS query
         FROM pg_stat_activity WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL
         ORDER BY xact_start LIMIT 3`,
      );
      console.error(`  ${group}: no progress for 3 s; oldest transactions: ${JSON.stringify(rows)}`);
    }
    await sleep(25);
  }
}

async function head() {
  const { rows } = await pool.query(`SELECT coalesce(max(position), 0) AS p FROM "${schema}".events`);
  return BigInt(rows[0].p);
}

/** The least checkpoint over the group's partitions (0 when one has none). */
async function leastCheckpoint(group) {
  const checkpoints = await Promise.all(partitionIds(group).map((id) => projections.load(id)));
  return checkpoints.reduce((least, c) => ((c ?? 0n) < least ? (c ?? 0n) : least), checkpoints[0] ?? 0n);
}

/**
 * Appends events until the log holds `total`, in appends of APPEND_CHUNK events, cycling over the
 * streams (so a read batch mixes many streams and partitions), 8 appends in flight.
 */
async function seedTo(total) {
  const from = await eventCount();
  const calls = [];
  for (let at = from; at < total; at += APPEND_CHUNK) calls.push(Math.min(APPEND_CHUNK, total - at));
  const versions = new Map();
  let next = 0;
  let stream = Math.floor(from / APPEND_CHUNK);
  const appender = async () => {
    while (next < calls.length) {
      const count = calls[next++];
      const id = `account-${stream++ % streams}`;
      const version = versions.get(id) ?? 0;
      versions.set(id, version + count);
      const batch = Array.from({ length: count }, (_, i) => ({
        type: 'Deposited',
        data: { amount: (version + i) % 100, appendedAt: Date.now() },
      }));
      await eventStore.appendEvents(id, ExpectedVersion.Any, batch);
    }
  };
  await Promise.all(Array.from({ length: 8 }, appender));
}

/** Forks `count` workers, waits until they are connected, and returns handles to drive them. */
async function spawnWorkers(count, config) {
  const workers = [];
  const errors = [];
  for (let i = 0; i < count; i++) {
    const workerId = `${config.group}-w${i + 1}`;
    const child = fork(join(here, 'worker.mjs'), [JSON.stringify({ ...config, workerId, url, schema })], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker = { id: workerId, child, owned: [], handled: 0, latencies: { handled: [], committed: [] } };
    worker.ready = new Promise((resolve) => {
      child.on('message', (message) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'rebalance') {
          worker.owned = message.owned;
          config.onRebalance?.();
        } else if (message.type === 'latency') {
          worker.latencies.handled.push(...message.handled);
          worker.latencies.committed.push(...message.committed);
        } else if (message.type === 'stopped') {
          worker.handled = message.handled;
          worker.cpuSeconds = message.cpuSeconds;
        } else if (message.type === 'error') errors.push(`${workerId}: ${message.message}`);
      });
    });
    worker.exited = new Promise((resolve) => child.on('exit', resolve));
    workers.push(worker);
  }
  await Promise.all(workers.map((w) => w.ready));
  return {
    workers,
    errors,
    go: () => {
      for (const w of workers) w.child.send({ type: 'go' });
    },
    stop: async () => {
      const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      for (const w of alive) w.child.send({ type: 'stop' });
      await Promise.all(alive.map((w) => w.exited));
    },
  };
}

/** True when the live workers' reported partitions are disjoint, cover all, and each holds its share. */
function settled(workers) {
  const live = workers.filter((w) => !w.killed);
  const all = live.flatMap((w) => w.owned);
  const fair = Math.floor(partitions / live.length);
  return (
    new Set(all).size === partitions && all.length === partitions && live.every((w) => w.owned.length >= fair)
  );
}

async function catchUp({ handler, workers, concurrency, round, target, total }) {
  const group = `cu-${handler}-${workers}w-c${concurrency}-r${round}`;
  let settledAt;
  let start;
  const handles = await spawnWorkers(workers, {
    group,
    partitions,
    handler,
    concurrency,
    batchSize,
    leaseTtlMs: catchUpTtlMs,
    heartbeatMs: catchUpHeartbeatMs,
    onRebalance: () => {
      if (start !== undefined && settledAt === undefined && settled(handles.workers)) {
        settledAt = performance.now();
      }
    },
  });
  const load = loadavg()[0];
  start = performance.now();
  handles.go();
  await waitForCheckpoints(group, target);
  const elapsed = (performance.now() - start) / 1000;
  await handles.stop();
  const counted = await countedEvents(pool, schema, group);
  const handled = handles.workers.reduce((sum, w) => sum + w.handled, 0);
  return {
    seconds: elapsed,
    eventsPerSecond: total / elapsed,
    settleSeconds: settledAt === undefined ? undefined : (settledAt - start) / 1000,
    exact: counted === total,
    counted,
    handled,
    load,
    cpuSeconds: handles.workers.reduce((sum, w) => sum + (w.cpuSeconds ?? 0), 0),
    errors: handles.errors,
  };
}

/** Sets every partition's checkpoint of a new group to `position`, so it starts following at the head. */
async function startAt(group, position) {
  for (const id of partitionIds(group))
    await projections.commitBatch(id, undefined, position, async () => {});
}

/** How long each append call of the writers took (append call to commit acknowledged), in ms. */
let appendMs = [];

/** WRITERS writers append one event each at a steady total `rate` for `durationMs`; resolves with the count. */
async function write(durationMs, tag, onTick) {
  const interval = (1000 * WRITERS) / rate;
  const started = performance.now();
  let appended = 0;
  const writer = async (w) => {
    for (let i = 0; ; i++) {
      const due = started + i * interval + (w * interval) / WRITERS;
      if (due - started >= durationMs) return;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const at = Date.now();
      await eventStore.appendEvents(`${tag}-${w}-${i % 50}`, ExpectedVersion.Any, [
        { type: 'Deposited', data: { amount: i % 100, appendedAt: at } },
      ]);
      appendMs.push(Date.now() - at);
      appended++;
      onTick?.();
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  return appended;
}

async function waitSettled(handles, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!settled(handles.workers)) {
    if (Date.now() > deadline) throw new Error('the group did not settle within 30 s');
    await sleep(50);
  }
}

async function live() {
  const group = 'live';
  await startAt(group, await head());
  const handles = await spawnWorkers(2, {
    group,
    partitions,
    handler: 'cpu',
    concurrency: followConcurrency,
    batchSize,
    leaseTtlMs: followTtlMs,
    heartbeatMs: followHeartbeatMs,
    latency: true,
  });
  handles.go();
  await waitSettled(handles);
  await sleep(2 * followHeartbeatMs);
  appendMs = [];
  const appended = await write(liveSeconds * 1000, 'live');
  const appendLatencies = appendMs;
  await waitForCheckpoints(group, await head());
  await handles.stop();
  const handled = handles.workers.flatMap((w) => w.latencies.handled);
  const committed = handles.workers.flatMap((w) => w.latencies.committed);
  const counted = await countedEvents(pool, schema, group);
  return {
    appended,
    handled,
    committed,
    appendLatencies,
    exact: counted === appended,
    errors: handles.errors,
  };
}

async function rebalance() {
  const group = 'rebalance';
  const startHead = await head();
  await startAt(group, startHead);
  const handles = await spawnWorkers(3, {
    group,
    partitions,
    handler: 'cpu',
    concurrency: 1,
    batchSize,
    leaseTtlMs: followTtlMs,
    heartbeatMs: followHeartbeatMs,
    latency: true,
  });
  handles.go();
  await waitSettled(handles);
  await sleep(2 * followHeartbeatMs);
  const victim = handles.workers[1];
  const victimPartitions = [...victim.owned];
  const writing = write(rebalanceSeconds * 1000, 'rebalance');
  await sleep(killAfterSeconds * 1000);
  const killedAt = performance.now();
  victim.killed = true;
  victim.child.kill('SIGKILL');
  const survivors = handles.workers.filter((w) => w !== victim).map((w) => w.id);
  let ownedAt;
  let backlogHead;
  let caughtUpAt;
  for (;;) {
    const now = performance.now();
    if (ownedAt === undefined) {
      const { partitions: rows } = await describeConsumerGroup({
        name: group,
        leases,
        readModel: projections,
      });
      if (rows.every((row) => row.owner !== undefined && survivors.includes(row.owner))) {
        ownedAt = now;
        backlogHead = await head();
      }
    } else if ((await leastCheckpoint(group)) >= backlogHead) {
      caughtUpAt = performance.now();
      break;
    }
    if (now - killedAt > 60_000) break;
    await sleep(50);
  }
  const appended = await writing;
  await waitForCheckpoints(group, await head());
  await handles.stop();
  const counted = await countedEvents(pool, schema, group);
  const handled = handles.workers.flatMap((w) => w.latencies.handled);
  const committed = handles.workers.flatMap((w) => w.latencies.committed);
  return {
    victim: victim.id,
    victimPartitions,
    ownedSeconds: ownedAt === undefined ? undefined : (ownedAt - killedAt) / 1000,
    caughtUpSeconds: caughtUpAt === undefined ? undefined : (caughtUpAt - killedAt) / 1000,
    appended,
    handled,
    committed,
    exact: counted === appended,
    counted,
    errors: handles.errors,
  };
}

function latencyRow(label, samples) {
  return [
    label,
    thousands(samples.length),
    `${percentile(samples, 50)} ms`,
    `${percentile(samples, 99)} ms`,
    `${Math.max(...samples)} ms`,
  ];
}

const started = performance.now();
console.log(
  `ConsumerGroup benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, Node ${process.version}, ${url.replace(/\/\/[^@]*@/, '//')} schema ${schema}`,
);
console.log(
  `Parameters: ${partitions} partitions, batchSize ${batchSize}, ${streams.toLocaleString('en-US')} streams, ` +
    `rounds ${rounds}; PostgresEventStore (LISTEN/NOTIFY on), PostgresPartitionLeaseStore, PostgresProjectionStore.\n` +
    'Handlers: cpu-light folds each event into a per-stream aggregate (count, sum, last version, a 36-step hash of ' +
    'the event id) kept in memory for the partition share; io-bound does the same after `await setTimeout(1)` ' +
    '(~1 ms of awaited latency per event, one event after the other). Both write the share as a real read model ' +
    'batches: one multi-row upsert per partition share, in the batch transaction, before the checkpoint moves.\n',
);
try {
  await migrate({ connection: pool, schema });
  await createReadModelTable(pool, schema);

  if (only.has('catchup')) {
    const configs = [
      { workers: 1, concurrency: 1 },
      { workers: 2, concurrency: 1 },
      { workers: 4, concurrency: 1 },
      { workers: 1, concurrency: 4 },
    ];
    for (const [handler, size] of [
      ['io', ioEvents],
      ['cpu', events],
    ].filter(([name]) => handlers.includes(name))) {
      const seedStart = performance.now();
      await seedTo(size);
      const target = await head();
      const total = await eventCount();
      console.error(
        `seeded to ${thousands(total)} events in ${seconds((performance.now() - seedStart) / 1000)}`,
      );
      const results = new Map(configs.map((c) => [`${c.workers}x${c.concurrency}`, []]));
      for (let round = 1; round <= rounds; round++) {
        for (const config of configs) {
          const result = await catchUp({ handler, ...config, round, target, total });
          results.get(`${config.workers}x${config.concurrency}`).push(result);
          console.error(
            `round ${round}: ${handler} ${config.workers} worker(s) x concurrency ${config.concurrency}: ` +
              `${seconds(result.seconds)}, ${thousands(result.eventsPerSecond)} ev/s, exact ${result.exact}` +
              `${result.errors.length ? `, errors: ${result.errors.slice(0, 3).join(' | ')}` : ''}`,
          );
        }
      }
      const base = median(results.get('1x1').map((r) => r.eventsPerSecond));
      printTable(
        `Catch-up, ${handler === 'io' ? 'io-bound' : 'cpu-light'} handler, over ${thousands(total)} events ` +
          `(median of ${rounds} round${rounds > 1 ? 's' : ''}; time from 'go' to every partition's checkpoint at the head; ` +
          `leaseTtlMs ${catchUpTtlMs}, heartbeatMs ${catchUpHeartbeatMs})`,
        [
          'workers (processes)',
          'concurrency',
          'seconds',
          'events/s',
          'vs 1 worker',
          'settled after',
          'worker CPU (all processes)',
          'load avg at start',
          'handled (incl. rolled back)',
          'read model exact',
        ],
        configs.map((config) => {
          const list = results.get(`${config.workers}x${config.concurrency}`);
          const rateMedian = median(list.map((r) => r.eventsPerSecond));
          const settle = list.map((r) => r.settleSeconds).filter((s) => s !== undefined);
          return [
            String(config.workers),
            String(config.concurrency),
            seconds(median(list.map((r) => r.seconds))),
            thousands(rateMedian),
            `${(rateMedian / base).toFixed(2)}x`,
            settle.length ? seconds(median(settle)) : '-',
            seconds(median(list.map((r) => r.cpuSeconds))),
            median(list.map((r) => r.load)).toFixed(1),
            thousands(median(list.map((r) => r.handled))),
            `${list.filter((r) => r.exact).length}/${list.length}`,
          ];
        }),
      );
    }
  }

  if (only.has('live')) {
    const result = await live();
    printTable(
      `Live latency: 2 workers following (caught up), ${WRITERS} writers appending 1-event appends at ` +
        `${rate} events/s in total for ${liveSeconds} s (cpu-light handler; concurrency ${followConcurrency}; leaseTtlMs ${followTtlMs}, heartbeatMs ${followHeartbeatMs})`,
      ['measure', 'samples', 'p50', 'p99', 'max'],
      [
        latencyRow('append call itself (writer side, for reference)', result.appendLatencies),
        latencyRow('append call to handler', result.handled),
        latencyRow('append call to batch committed', result.committed),
      ],
    );
    console.log(
      `${thousands(result.appended)} events appended; read model exact: ${result.exact}` +
        `${result.errors.length ? `; worker errors: ${result.errors.slice(0, 3).join(' | ')}` : ''}`,
    );
  }

  if (only.has('rebalance')) {
    const result = await rebalance();
    printTable(
      `Rebalance after a kill: 3 workers following, ${WRITERS} writers at ${rate} events/s for ${rebalanceSeconds} s, ` +
        `SIGKILL of one worker ${killAfterSeconds} s in (leaseTtlMs ${followTtlMs}, heartbeatMs ${followHeartbeatMs}: ` +
        'the takeover waits for the dead worker’s membership and leases to lapse, by design)',
      ['measure', 'value'],
      [
        ['killed worker (its partitions)', `${result.victim} (${result.victimPartitions.join(', ')})`],
        [
          'kill to every partition owned by a survivor (describeConsumerGroup)',
          result.ownedSeconds === undefined ? 'not within 60 s' : seconds(result.ownedSeconds),
        ],
        [
          'kill to the backlog handled (every checkpoint at the head of the takeover moment)',
          result.caughtUpSeconds === undefined ? 'not within 60 s' : seconds(result.caughtUpSeconds),
        ],
        ['events appended during the run', thousands(result.appended)],
        ['append-to-committed latency p50 / p99 / max over the run', latencyTriple(result.committed)],
        ['read model exact after the kill (each event counted once)', String(result.exact)],
      ],
    );
    if (result.errors.length) console.log(`worker errors: ${result.errors.slice(0, 5).join(' | ')}`);
  }
  console.log(`\nTotal run time ${seconds((performance.now() - started) / 1000)}.`);
} finally {
  await projections.close();
  await leases.close();
  await eventStore.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
}

function latencyTriple(samples) {
  if (samples.length === 0) return '-';
  return `${percentile(samples, 50)} / ${percentile(samples, 99)} / ${Math.max(...samples)} ms`;
}
