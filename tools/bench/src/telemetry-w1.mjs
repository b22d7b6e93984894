// W1 with the OpenTelemetry API present and no SDK registered, against W1 without instrumentation:
// the cost of @es/core's telemetry when nobody collects it. Interleaved rounds, each contender in a
// fresh process and schema; prints the medians and their ratio.
//
//   BENCH_ES_NO_OTEL=/tmp/es-otel-b/packages/store-postgres/dist/index.js \
//   BENCH_ES_OTEL=/tmp/es-otel-a/packages/store-postgres/dist/index.js \
//     node tools/bench/src/telemetry-w1.mjs --rounds 7 --url postgres://postgres@127.0.0.1:5432/es_bench
//
// `no-otel` is @es/store-postgres built from a commit before the instrumentation (see the README);
// `otel-api` is the same store over the instrumented @es/core (BENCH_ES_OTEL, default this
// workspace's build), wrapped with instrumentEventStore: an es.append span and the append metrics
// per append and the trace-context lookup in prepareAppend, with no SDK registered. Each build
// imports the @es/core of its own work tree.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';

const W1 = { writers: 8, streams: 1_000, events: 16_000 };
const event = (i) => ({ type: 'Deposited', data: { amount: i, currency: 'EUR', note: `deposit ${i}` } });

/** W1 as in workloads.mjs: 8 writers, single-event appends at exact expected versions, 1,000 streams. */
async function w1(append) {
  const perWriter = W1.events / W1.writers;
  const writer = async (w) => {
    const own = Array.from({ length: W1.streams / W1.writers }, (_, k) => `w1-${w + k * W1.writers}`);
    for (let i = 0; i < perWriter; i++) {
      await append(own[i % own.length], Math.floor(i / own.length), [event(i)]);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: W1.writers }, (_, w) => writer(w)));
  return W1.events / ((performance.now() - started) / 1000);
}

/** Runs W1 once for `name` in this process and prints { name, eventsPerSec }. */
async function child(name, url) {
  const path =
    name === 'no-otel' ? process.env.BENCH_ES_NO_OTEL : (process.env.BENCH_ES_OTEL ?? '@es/store-postgres');
  if (!path)
    throw new Error('no-otel needs BENCH_ES_NO_OTEL=<dist/index.js of a build before the instrumentation>');
  const { migrate, PostgresEventStore } = await import(path);
  const schema = `bench_otel_${name.replaceAll('-', '_')}_${randomBytes(4).toString('hex')}`;
  await migrate({ connection: url, schema });
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const raw = new PostgresEventStore({ connection: pool, schema });
  let store = raw;
  if (name === 'otel-api') {
    // No SDK is registered: the API hands out its no-op tracer and meter.
    // The @es/core of the store's own work tree (the one its build imports), else this workspace's.
    const otel = process.env.BENCH_ES_OTEL;
    const { instrumentEventStore } = await import(
      otel ? otel.replace('/store-postgres/', '/core/') : '@es/core'
    );
    store = instrumentEventStore(raw);
  }
  try {
    const eventsPerSec = await w1((streamId, expected, events) =>
      store.appendEvents(streamId, expected, events),
    );
    process.stdout.write(`${JSON.stringify({ name, eventsPerSec })}\n`);
  } finally {
    await raw.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4]);
} else {
  const url = option('url', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/es_bench');
  const rounds = Number(option('rounds', '7'));
  const contenders = ['no-otel', 'otel-api'];
  const admin = new pg.Client({ connectionString: url.replace(/\/[^/]+$/, '/postgres') });
  await admin.connect();
  const database = new URL(url).pathname.slice(1);
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const results = new Map(contenders.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    // Alternate which contender goes first, so neither always runs on a warmer server.
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const name of order) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [new URL(import.meta.url).pathname, '--child', name, url],
        { env: process.env, maxBuffer: 1 << 20 },
      );
      const { eventsPerSec } = JSON.parse(stdout.trim().split('\n').at(-1));
      results.get(name).push(eventsPerSec);
      console.log(`round ${round + 1}/${rounds} ${name.padEnd(8)} W1 ${eventsPerSec.toFixed(0)} ev/s`);
    }
  }
  const base = median(results.get('no-otel'));
  const withApi = median(results.get('otel-api'));
  console.log('\n| W1 (8 writers, 16,000 single-event appends) | median ev/s | rounds (ev/s) |');
  console.log('| --- | ---: | --- |');
  for (const name of contenders) {
    const label = name === 'no-otel' ? 'without instrumentation (core reverted)' : 'API present, no SDK';
    console.log(
      `| ${label} | ${median(results.get(name)).toFixed(0)} | ${results
        .get(name)
        .map((v) => v.toFixed(0))
        .join(', ')} |`,
    );
  }
  // Per-round pairs ran back to back, so their ratio cancels the server's slower and faster periods.
  const paired = results.get('otel-api').map((value, i) => value / results.get('no-otel')[i]);
  console.log(`\nratio of medians (API present, no SDK / without): ${(withApi / base).toFixed(3)}`);
  console.log(
    `median of per-round ratios: ${median(paired).toFixed(3)} (${paired.map((r) => r.toFixed(2)).join(', ')})`,
  );
}
