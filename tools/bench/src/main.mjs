// The PostgreSQL event store benchmark: W1-W4 for each contender, interleaved and repeated, each
// run in a fresh process and a fresh schema (or database); prints medians, ratios to the raw
// baseline, and the exactly-once check of every contender's global-log read.
//
//   node tools/bench/src/main.mjs [--rounds 5] [--url postgres://postgres@127.0.0.1:5432/es_bench]
//
// The database in --url is created when missing; the benchmark creates and drops its schemas there.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { renderTable } from './table.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const rounds = Number(option('rounds', '5'));
const url = option('url', process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/es_bench');
const contenders = (option('contenders', 'raw,raw-batched,es,es-coalesce,emmett') ?? '').split(',');

/**
 * Flushes the server's dirty buffers before each run, so no contender pays for a checkpoint
 * caused by the one before it, and each starts equally soon after one (full-page images).
 * Needs superuser or pg_checkpoint; without them the runs go on unflushed.
 */
async function checkpoint() {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } catch (error) {
    console.log(`(no CHECKPOINT before the run: ${error.message})`);
  } finally {
    await client.end();
  }
}

async function runOnce(contender) {
  await checkpoint();
  const { stdout } = await run(process.execPath, [join(here, 'run-contender.mjs'), contender, url], {
    maxBuffer: 1 << 20,
    timeout: 15 * 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** Creates the benchmark database when it does not exist yet (connecting to `postgres` on the same server). */
async function ensureDatabase(databaseUrl) {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rows.length === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      console.log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

await ensureDatabase(url);
const results = new Map(contenders.map((name) => [name, []]));
console.log(
  `PostgreSQL event store benchmark: ${rounds} rounds, contenders ${contenders.join(', ')}, ${url}`,
);
for (let round = 0; round < rounds; round++) {
  // Rotate the order every round, so no contender always runs first (or last) on a warm server.
  const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
  for (const name of order) {
    const result = await runOnce(name);
    results.get(name).push(result);
    console.log(
      `round ${round + 1}/${rounds} ${result.name.padEnd(20)} W1 x1/x8/x64 ${result.w1x1EventsPerSec.toFixed(0)}/` +
        `${result.w1EventsPerSec.toFixed(0)}/${result.w1x64EventsPerSec.toFixed(0)} ev/s ` +
        `(p99 ${result.w1x1P99Ms.toFixed(2)}/${result.w1P99Ms.toFixed(2)}/${result.w1x64P99Ms.toFixed(2)} ms)  ` +
        `W2 ${result.w2EventsPerSec.toFixed(0)} ev/s  W3 ${result.w3Ms.toFixed(1)} ms  ` +
        `W4 ${result.w4EventsPerSec.toFixed(0)} ev/s (${result.w4Count} read, waited ${result.visibilityWaitMs.toFixed(0)} ms)  ` +
        `log: ${result.check.duplicates} dup, ${result.check.missing} missing`,
    );
  }
}
console.log('');
// Ratios are to raw pg when it runs, otherwise to the first contender named.
console.log(renderTable(results, contenders.includes('raw') ? 'raw' : contenders[0]));
