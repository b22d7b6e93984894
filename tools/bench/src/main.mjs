// The PostgreSQL event store benchmark: W1-W4 for each contender, interleaved and repeated, each
// run in a fresh process and a fresh schema (or database); prints medians, ratios to the raw
// baseline, and the exactly-once check of every contender's global-log read.
//
//   node tools/bench/src/main.mjs [--rounds 5] [--url postgres://postgres@127.0.0.1:5432/es_bench]
//     [--contenders raw,raw-batched,es,es-coalesce,emmett] [--workloads w1,w2,w3,w4]
//
// --workloads runs only those (w1 is its three variants, 1/8/64 writers; w1x1, w1x8 and w1x64 name
// one); the table then shows only what ran. Default: all.
// The database in --url is created when missing; the benchmark creates and drops its schemas there.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { renderTable } from './table.mjs';
import { selectWorkloads } from './workloads.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const rounds = Number(option('rounds', '5'));
const url = option('url', process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/es_bench');
const contenders = (option('contenders', 'raw,raw-batched,es,es-coalesce,emmett') ?? '').split(',');
const workloads = option('workloads', undefined);
const selected = selectWorkloads(workloads); // refuses an unknown name before anything runs

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
  const args = [join(here, 'run-contender.mjs'), contender, url, ...(workloads ? [workloads] : [])];
  const { stdout } = await run(process.execPath, args, {
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

/** One round's figures, for the workloads that ran. */
function roundLine(result) {
  const parts = [];
  const rate = (value) => (value === undefined || value === null ? '-' : value.toFixed(0));
  const ms = (value) => (value === undefined || value === null ? '-' : value.toFixed(2));
  if (
    result.w1x1EventsPerSec !== undefined ||
    result.w1EventsPerSec !== undefined ||
    result.w1x64EventsPerSec !== undefined
  ) {
    parts.push(
      `W1 x1/x8/x64 ${rate(result.w1x1EventsPerSec)}/${rate(result.w1EventsPerSec)}/${rate(result.w1x64EventsPerSec)} ev/s ` +
        `(p99 ${ms(result.w1x1P99Ms)}/${ms(result.w1P99Ms)}/${ms(result.w1x64P99Ms)} ms)`,
    );
  }
  if (result.w2EventsPerSec !== undefined) parts.push(`W2 ${rate(result.w2EventsPerSec)} ev/s`);
  if (result.w3Ms !== undefined) parts.push(`W3 ${result.w3Ms.toFixed(1)} ms`);
  if (result.w4EventsPerSec !== undefined) {
    parts.push(
      `W4 ${rate(result.w4EventsPerSec)} ev/s (${result.w4Count} read, waited ${result.visibilityWaitMs.toFixed(0)} ms)`,
    );
  }
  parts.push(`log: ${result.check.duplicates} dup, ${result.check.missing} missing`);
  return parts.join('  ');
}

await ensureDatabase(url);
const results = new Map(contenders.map((name) => [name, []]));
console.log(
  `PostgreSQL event store benchmark: ${rounds} rounds, contenders ${contenders.join(', ')}, ` +
    `workloads ${[...selected].join(', ')}, ${url}`,
);
for (let round = 0; round < rounds; round++) {
  // Rotate the order every round, so no contender always runs first (or last) on a warm server.
  const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
  for (const name of order) {
    const result = await runOnce(name);
    results.get(name).push(result);
    console.log(`round ${round + 1}/${rounds} ${result.name.padEnd(20)} ${roundLine(result)}`);
  }
}
console.log('');
// Ratios are to raw pg when it runs, otherwise to the first contender named.
console.log(renderTable(results, contenders.includes('raw') ? 'raw' : contenders[0]));
