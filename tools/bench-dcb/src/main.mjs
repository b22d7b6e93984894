// Dynamic consistency boundaries on PostgreSQL (issue 15):
//  1. appends/s of 8 writers: a conditional append with a 2-tag condition (each writer on its own
//     tags, so no condition fails) against a plain exact-version stream append, in interleaved
//     rounds of a few seconds each; the medians of the rounds and their ratio (target >= 0.7);
//  2. read(query) latency over 1,000,000 tagged events: a 2-tag query (events carrying both tags),
//     a 2-item query (either tag), 1 tag, and types + tag; median and p95 of many calls, measured
//     in the client, after warm-up (target for the 2-tag query: under 5 ms).
//
//   node tools/bench-dcb/src/main.mjs [--url postgres://postgres@127.0.0.1:5432/test]
//        [--rounds 5] [--seconds 3] [--writers 8] [--events 1000000] [--queries 200]
//
// Runs in fresh schemas, dropped at the end. A script, not a test: the figures depend on the
// machine and its load.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { ExpectedVersion } from '@es/core';
import { migrate, PostgresEventStore } from '@es/store-postgres';
import pg from 'pg';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const url = option('url', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const rounds = Number(option('rounds', '5'));
const roundSeconds = Number(option('seconds', '3'));
const writers = Number(option('writers', '8'));
const totalEvents = Number(option('events', '1000000'));
const queries = Number(option('queries', '200'));
const only = new Set(option('only', 'append,query').split(','));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

function printTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log();
}

const pool = new pg.Pool({ connectionString: url, max: writers + 2 });
const schemas = [];

async function freshStore() {
  const schema = `bench_dcb_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  await migrate({ connection: pool, schema });
  return { schema, store: new PostgresEventStore({ connection: pool, schema, notify: false }) };
}

// Each writer appends one event per call for `seconds`; returns appends/s and failures.
async function runAppends(kind, store, seconds, state) {
  const deadline = Date.now() + seconds * 1000;
  let count = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const mine = state[w];
      while (Date.now() < deadline) {
        try {
          if (kind === 'plain') {
            await store.appendEvents(mine.stream, mine.version, [{ type: 'Deposited', data: { amount: 1 } }]);
            mine.version++;
          } else {
            // A subscription decided on the course and the student: the 2-tag condition.
            const result = await store.append(
              [{ type: 'StudentSubscribed', data: { n: count }, tags: [mine.course, mine.student] }],
              {
                condition: {
                  failIfEventsMatch: { items: [{ tags: [mine.course] }, { tags: [mine.student] }] },
                  afterPosition: mine.position,
                },
              },
            );
            mine.position = result.lastPosition;
          }
          count++;
        } catch (error) {
          failures++;
          if (failures === 1) console.error(`${kind}: ${error.message}`);
        }
      }
    }),
  );
  return { perSecond: count / seconds, failures };
}

async function appendBench() {
  const { store } = await freshStore();
  const state = Array.from({ length: writers }, (_, w) => ({
    stream: `account-${w}-${randomBytes(4).toString('hex')}`,
    version: 0,
    course: `course:${w}`,
    student: `student:${w}`,
    position: 0n,
  }));
  // Warm-up: the statements prepared on every connection, the first era opened.
  await runAppends('plain', store, 1, state);
  await runAppends('conditional', store, 1, state);
  const results = { plain: [], conditional: [] };
  const failures = { plain: 0, conditional: 0 };
  for (let round = 0; round < rounds; round++) {
    // Interleaved, alternating which goes first, so drift (vacuum, checkpoints) hits both.
    const order = round % 2 ? ['conditional', 'plain'] : ['plain', 'conditional'];
    for (const kind of order) {
      const { perSecond, failures: failed } = await runAppends(kind, store, roundSeconds, state);
      results[kind].push(perSecond);
      failures[kind] += failed;
    }
  }
  const plain = median(results.plain);
  const conditional = median(results.conditional);
  console.log(
    `## Appends, ${writers} writers, one event per append, ${rounds} interleaved rounds of ${roundSeconds} s (medians)\n`,
  );
  printTable(
    ['append', 'appends/s (median)', 'rounds', 'failures', 'vs plain'],
    [
      [
        'plain: appendEvents(stream, exact version, [event])',
        Math.round(plain),
        results.plain.map(Math.round).join(' '),
        failures.plain,
        '1.00x',
      ],
      [
        'conditional: append([event with 2 tags], { condition: 2 tags, afterPosition })',
        Math.round(conditional),
        results.conditional.map(Math.round).join(' '),
        failures.conditional,
        `${(conditional / plain).toFixed(2)}x`,
      ],
    ],
  );
}

// 1,000,000 events: course:c (1,000 courses, 1,000 events each) and student:s (50,000 students,
// 20 events each), 4 types cycling. Loaded with SQL (positions 1..n), then one append so that the
// table has an era and reads apply the visibility bound as in production.
async function queryBench() {
  const { schema, store } = await freshStore();
  const table = `"${schema}".events`;
  const started = Date.now();
  const chunk = 100_000;
  for (let from = 1; from <= totalEvents; from += chunk) {
    const to = Math.min(totalEvents, from + chunk - 1);
    await pool.query(
      `INSERT INTO ${table} (position, stream_id, version, event_id, type, schema_version, data, metadata, created_at, tags)
       SELECT n, '$dcb-' || n, 1, gen_random_uuid(), (ARRAY['CourseDefined','StudentSubscribed','StudentLeft','CapacityChanged'])[1 + n % 4],
              1, jsonb_build_object('n', n), '{}', now(),
              ARRAY['course:' || (n % 1000), 'student:' || (n % 50000)]
       FROM generate_series($1::bigint, $2::bigint) n`,
      [from, to],
    );
  }
  await store.appendEvents('seed', ExpectedVersion.NoStream, [{ type: 'Seeded', data: {} }]);
  await pool.query(`VACUUM ANALYZE ${table}`);
  const size = (
    await pool.query(`SELECT pg_size_pretty(pg_relation_size('"${schema}".events_tags_idx')) AS s`)
  ).rows[0].s;
  console.log(
    `## read(query) over ${totalEvents.toLocaleString('en')} events (loaded in ${((Date.now() - started) / 1000).toFixed(0)} s; GIN index ${size})\n`,
  );
  // Event n carries course:(n % 1000) and student:(n % 50000), so every event of student s carries
  // course:(s % 1000): the 2-tag query (course 234, a student 1234 + 1000k) returns 20 events.
  const cases = [
    [
      '2 tags, one item: { tags: [course, student] }',
      (i) => ({ items: [{ tags: ['course:234', `student:${1234 + 1000 * (i % 50)}`] }] }),
    ],
    ['1 tag: { tags: [student] }', (i) => ({ items: [{ tags: [`student:${1234 + 1000 * (i % 50)}`] }] })],
    [
      'types + tag: { eventTypes: [StudentSubscribed, StudentLeft], tags: [student] }',
      (i) => ({
        items: [
          { eventTypes: ['StudentSubscribed', 'StudentLeft'], tags: [`student:${1234 + 1000 * (i % 50)}`] },
        ],
      }),
    ],
    [
      '2 items (either tag), limit 100: [{ tags: [course] }, { tags: [student] }]',
      (i) => ({
        items: [{ tags: [`course:${(i * 7) % 1000}`] }, { tags: [`student:${1234 + 1000 * (i % 50)}`] }],
      }),
      { limit: 100 },
    ],
    [
      'condition check shape, no match: { tags: [course, student:none] }',
      (i) => ({ items: [{ tags: [`course:${i % 1000}`, `student:none-${i}`] }] }),
    ],
  ];
  const rows = [];
  for (const [title, make, options] of cases) {
    for (let i = 0; i < 20; i++) await store.read(make(i), options);
    const times = [];
    let returned = 0;
    for (let i = 0; i < queries; i++) {
      const started = process.hrtime.bigint();
      const result = await store.read(make(i), options);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      returned += result.events.length;
    }
    rows.push([
      title,
      (returned / queries).toFixed(0),
      median(times).toFixed(2),
      percentile(times, 95).toFixed(2),
    ]);
  }
  printTable(['query', 'events returned', 'median ms', 'p95 ms'], rows);
}

try {
  const version = (await pool.query('SHOW server_version')).rows[0].server_version;
  console.log(
    `# DCB benchmark: PostgreSQL ${version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), load ${loadavg()[0].toFixed(2)}\n`,
  );
  if (only.has('append')) await appendBench();
  if (only.has('query')) await queryBench();
} finally {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
}
