// Replay benchmark. Usage: DATABASE_URL=postgres://... pnpm --filter @es/bench-replay bench
//   BENCH_EVENTS (default 1000000)  BENCH_ROUNDS (3)  BENCH_BATCH (1000)  BENCH_LATENCY_EVENTS (200)
//   BENCH_SKIP_THROUGHPUT=1 measures latency only
// Seeds BENCH_EVENTS events into a fresh schema with generate_series, measures replay throughput
// and memory (each run in its own process, contenders interleaved round by round), then
// append-to-handler latency of live followers, prints tables and drops the schema.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { PostgresEventStore } from '@es/store-postgres';
import pg from 'pg';
import { LATENCY_CONTENDERS, measureLatency } from './latency.mjs';
import { seedEvents } from './seed.mjs';
import { runThroughput, THROUGHPUT_CONTENDERS } from './throughput.mjs';

const url = process.env.DATABASE_URL;
const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const batchSize = Number(process.env.BENCH_BATCH ?? 1000);
const latencyEvents = Number(process.env.BENCH_LATENCY_EVENTS ?? 200);

if (!url) {
  console.error('Set DATABASE_URL to a PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/test).');
  process.exit(2);
}

if (process.argv[2] === '--throughput') {
  const result = await runThroughput(process.argv[3], { url, schema: process.argv[4], batchSize });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const fixed = (value, digits = 1) => value.toFixed(digits);

function printThroughput(runs) {
  const baseline = median(Object.values(runs)[0].map((r) => r.eventsPerSecond));
  console.log(
    `\nReplay throughput over ${events.toLocaleString('en')} events (median of ${rounds} runs; memory: worst run)\n`,
  );
  console.log(
    '| contender | events/s | vs baseline | seconds | peak RSS MB | peak heap MB | heap peak 1st / last quarter MB |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, list] of Object.entries(runs)) {
    const rate = median(list.map((r) => r.eventsPerSecond));
    const worst = (key) => Math.max(...list.map((r) => r[key]));
    console.log(
      `| ${name} | ${fixed(rate, 0)} | ${fixed(rate / baseline, 2)}x | ${fixed(median(list.map((r) => r.seconds)), 2)} | ` +
        `${fixed(worst('peakRssMb'))} | ${fixed(worst('peakHeapMb'))} | ` +
        `${fixed(worst('firstQuarterPeakHeapMb'))} / ${fixed(worst('lastQuarterPeakHeapMb'))} |`,
    );
  }
}

const schema = `bench_replay_${randomBytes(4).toString('hex')}`;
const pool = new pg.Pool({ connectionString: url, max: 4 });
try {
  const store = new PostgresEventStore({ connection: pool, schema });
  await store.migrate();
  let started = performance.now();
  await seedEvents(pool, schema, events);
  const size = (
    await pool.query(`SELECT pg_size_pretty(pg_total_relation_size($1)) AS s`, [`"${schema}".events`])
  ).rows[0].s;
  console.log(
    `Seeded ${events.toLocaleString('en')} events (${size}) in ${fixed((performance.now() - started) / 1000)} s ` +
      `with generate_series into ${schema}.events. Batch size ${batchSize}, ${rounds} rounds, Node ${process.version}.\n`,
  );

  // Throughput: each run in a fresh process, so its memory figures are its own.
  const runs = Object.fromEntries(Object.keys(THROUGHPUT_CONTENDERS).map((name) => [name, []]));
  const script = fileURLToPath(import.meta.url);
  for (let round = 1; round <= (process.env.BENCH_SKIP_THROUGHPUT ? 0 : rounds); round++) {
    for (const contender of Object.keys(THROUGHPUT_CONTENDERS)) {
      const output = execFileSync(
        process.execPath,
        ['--expose-gc', script, '--throughput', contender, schema],
        {
          env: process.env,
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        },
      );
      const result = JSON.parse(output.trim().split('\n').pop());
      if (result.count !== events)
        throw new Error(`${contender} read ${result.count} events, expected ${events}`);
      runs[contender].push(result);
      console.error(`round ${round}: ${contender}: ${fixed(result.eventsPerSecond, 0)} events/s`);
    }
  }
  if (!process.env.BENCH_SKIP_THROUGHPUT) printThroughput(runs);

  // Latency: followers start at the head; events are appended one at a time, a few ms apart.
  const head = BigInt((await pool.query(`SELECT max(position) AS p FROM "${schema}".events`)).rows[0].p);
  const latencies = Object.fromEntries(Object.keys(LATENCY_CONTENDERS).map((name) => [name, []]));
  const oldestWriter = {};
  started = performance.now();
  for (let round = 1; round <= rounds; round++) {
    for (const contender of Object.keys(LATENCY_CONTENDERS)) {
      const streamId = `latency-${round}-${contender.replace(/\W+/g, '-')}`;
      const { latencies: measured, oldestWriterMs } = await measureLatency(
        contender,
        { pool, store, schema, head },
        latencyEvents,
        streamId,
      );
      oldestWriter[contender] = Math.max(oldestWriter[contender] ?? 0, oldestWriterMs);
      if (measured.length !== latencyEvents) {
        throw new Error(`${contender} delivered ${measured.length} of ${latencyEvents} events`);
      }
      latencies[contender].push(...measured);
    }
  }
  console.log(
    `\nAppend-to-handler latency (${rounds} x ${latencyEvents} single-event appends, 3-10 ms apart, ` +
      `contenders interleaved; ${fixed((performance.now() - started) / 1000)} s)\n`,
  );
  console.log(
    '| follower | median ms | p90 ms | p99 ms | max ms | over 100 ms | oldest writing transaction seen (other sessions) ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, list] of Object.entries(latencies)) {
    console.log(
      `| ${name} | ${fixed(median(list), 2)} | ${fixed(percentile(list, 90), 2)} | ${fixed(percentile(list, 99), 2)} | ` +
        `${fixed(Math.max(...list), 2)} | ${list.filter((ms) => ms > 100).length} | ${fixed(oldestWriter[name], 0)} |`,
    );
  }
  await store.close();
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
}
