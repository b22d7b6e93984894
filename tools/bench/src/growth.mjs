// Growth benchmark (issue 16): the same reads at several table sizes, with the ratio of each to the
// smallest size. A read that returns the same rows must cost about the same however large the table
// grows (flat, or O(log n) from the depth of a btree); one that grows with the table is a bug.
//
//   node tools/bench/src/growth.mjs [--sizes 100000,1000000,5000000] [--repeat 15]
//     [--url postgres://postgres@127.0.0.1:5432/es_bench]
//
// The table is filled by INSERT ... SELECT generate_series (not through appends: 5,000,000 appends
// would take an hour here), in streams of 100 events; one event in 10,000 has the rare type
// `Rare`, one in 20,000 `AlsoRare`, the rest `Common`. Positions are small integers, below every
// position a real append takes, so every row is visible to the readers. Each measure is the median
// of `--repeat` runs, after one warm-up run.
import { ExpectedVersion } from '@es/core';
import * as store from '@es/store-postgres';
import pg from 'pg';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const url = option('url', process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/es_bench');
const sizes = option('sizes', '100000,1000000,5000000').split(',').map(Number);
const repeat = Number(option('repeat', '15'));
const schema = `bench_growth_${process.pid}`;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function measure(work) {
  await work();
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function firstOf(iterable, count) {
  const events = [];
  for await (const event of iterable) {
    events.push(event);
    if (events.length === count) break;
  }
  return events;
}

const admin = new pg.Client({ connectionString: url });
await admin.connect();
await store.migrate({ connection: url, schema });
const pool = new pg.Pool({ connectionString: url, max: 4 });
// Records the statements each read sends (on its warm-up), to explain them afterwards.
let captured;
const spy = {
  query: (config, values) => {
    captured?.push(typeof config === 'string' ? { text: config, values } : config);
    return pool.query(config, values);
  },
  connect: () => pool.connect(),
  end: async () => undefined,
};
const es = new store.PostgresEventStore({ connection: spy, schema, notify: false });
const table = `"${schema}".events`;

/** Fills positions (from, to] as streams of 100 events. */
async function fill(from, to) {
  for (let start = from; start < to; start += 500_000) {
    const end = Math.min(to, start + 500_000);
    await admin.query(
      `INSERT INTO ${table} (position, stream_id, version, event_id, event_id_supplied, type, schema_version,
                             data, metadata, created_at)
       SELECT g, 'g-' || ((g - 1) / 100), ((g - 1) % 100) + 1, gen_random_uuid(), false,
              CASE WHEN g % 10000 = 5000 THEN 'Rare' WHEN g % 20000 = 7 THEN 'AlsoRare' ELSE 'Common' END,
              1, jsonb_build_object('amount', g, 'currency', 'EUR', 'note', 'deposit ' || g), '{}', now()
       FROM generate_series($1::bigint + 1, $2::bigint) g`,
      [start, end],
    );
  }
  await admin.query(`VACUUM ANALYZE ${table}`);
}

/** What each measure reads; every one returns the same rows at every size. */
const measures = [
  [
    'getEventsByType(Rare, limit 10) after position 1,000',
    () => es.getEventsByType('Rare', undefined, { afterPosition: 1_000n, limit: 10 }),
  ],
  [
    'getEventsByType([Rare, AlsoRare], limit 10) after 1,000',
    () => es.getEventsByType(['Rare', 'AlsoRare'], undefined, { afterPosition: 1_000n, limit: 10 }),
  ],
  [
    'getEventsByType(Common, limit 100) after 1,000',
    () => es.getEventsByType('Common', undefined, { afterPosition: 1_000n, limit: 100 }),
  ],
  [
    'getAllEvents: 1,000 events after position 1,000',
    () => firstOf(es.getAllEvents(1_000n, { batchSize: 1_000 }), 1_000),
  ],
  [
    'getAllEvents(eventTypes [Rare]): 5 events after 1,000',
    () => firstOf(es.getAllEvents(1_000n, { batchSize: 5, eventTypes: ['Rare'] }), 5),
  ],
  ['getEvents: a 100-event stream (the first)', () => es.getEvents('g-0')],
  ['getEvents: a 100-event stream (the 999th)', () => es.getEvents('g-999')],
  ['getStreamVersion', () => es.getStreamVersion('g-500')],
  [
    'appendEvents: 1 event to a new stream',
    () => es.appendEvents(`new-${Math.random()}`, ExpectedVersion.NoStream, [{ type: 'Common', data: {} }]),
    false,
  ],
];

/**
 * The JIT time the server spends on these statements, summed (undefined when none compiles),
 * from `EXPLAIN (ANALYZE, FORMAT JSON)` with the values each was sent with: compilation starts
 * once a plan's estimated cost passes `jit_above_cost`, and costs tens of milliseconds.
 */
async function jitOf(statements) {
  let total;
  for (const { text, values } of statements) {
    if (!/^\s*(SELECT|WITH)/i.test(text)) continue;
    const { rows } = await pool.query({ text: `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values });
    const plan = rows[0]['QUERY PLAN'][0];
    if (plan.JIT) total = (total ?? 0) + plan.JIT.Timing.Total;
  }
  return total;
}

const results = [];
const jits = [];
let filled = 0;
try {
  for (const size of sizes) {
    const loading = performance.now();
    await fill(filled, size);
    filled = size;
    console.log(
      `filled to ${size.toLocaleString('en-US')} events in ${((performance.now() - loading) / 1000).toFixed(0)} s`,
    );
    const row = [];
    const jitRow = [];
    for (const [label, work, reads = true] of measures) {
      captured = [];
      await work();
      const statements = captured;
      captured = undefined;
      const ms = await measure(work);
      row.push(ms);
      const jit = reads ? await jitOf(statements) : undefined;
      jitRow.push(jit);
      console.log(`  ${label}: ${ms.toFixed(2)} ms${jit ? `, JIT ${jit.toFixed(1)} ms` : ''}`);
    }
    results.push(row);
    jits.push(jitRow);
  }
} finally {
  await es.close();
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}

const header = `| read | ${sizes.map((s) => `${s.toLocaleString('en-US')} events`).join(' | ')} |`;
console.log(`\n${header}\n|---|${sizes.map(() => '---').join('|')}|`);
measures.forEach(([label], m) => {
  const base = results[0][m];
  const cells = results.map((row) => `${row[m].toFixed(2)} ms (${(row[m] / base).toFixed(2)}x)`);
  console.log(`| ${label} | ${cells.join(' | ')} |`);
});
const compiled = measures.flatMap(([label], m) =>
  jits.flatMap((row, size) =>
    row[m] === undefined
      ? []
      : [`${label} at ${sizes[size].toLocaleString('en-US')}: ${row[m].toFixed(1)} ms`],
  ),
);
console.log(
  compiled.length === 0
    ? '\nJIT: no read statement compiled (EXPLAIN ANALYZE of each, at each size).'
    : `\nJIT compiled (EXPLAIN ANALYZE, server time per call):\n  ${compiled.join('\n  ')}`,
);
