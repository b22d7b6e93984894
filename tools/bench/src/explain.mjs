// Prints the query plans of the statements @es/store-postgres issues for getAllEvents,
// getEventsByType, getEvents, an exact-version append, and the DCB reads by query and condition
// check, captured from the store itself, on a 200,000-event table plus 20,000 tagged events:
//   node tools/bench/src/explain.mjs [--url postgres://postgres@127.0.0.1:5432/es_bench]
// Each statement is shown twice: as a generic plan (what a named prepared statement ends up using)
// and as a custom plan for the captured parameter values, both with EXPLAIN (ANALYZE, BUFFERS).
import { ExpectedVersion } from '@es/core';
import { migrate, PostgresEventStore } from '@es/store-postgres';
import pg from 'pg';

const index = process.argv.indexOf('--url');
const url = index === -1 ? 'postgres://postgres@127.0.0.1:5432/es_bench' : process.argv[index + 1];
const schema = `explain_${Date.now().toString(36)}`;
const STREAMS = 2_000;
const PER_STREAM = 100;
const TYPES = ['Opened', 'Deposited', 'Withdrawn', 'Renamed', 'Closed'];

const pool = new pg.Pool({ connectionString: url, max: 4 });
const captured = [];
// While dryRun is set, statements are recorded, not run (an append is explained, then rolled back).
let dryRun = false;
const spy = {
  query: (config) => {
    captured.push(config);
    return dryRun ? Promise.resolve({ rows: [{ position: '1' }] }) : pool.query(config);
  },
  connect: () => pool.connect(),
  end: async () => undefined,
};

function literal(value) {
  if (value === null) return 'NULL';
  if (Array.isArray(value)) return `ARRAY[${value.map(literal).join(', ')}]::text[]`;
  if (value instanceof Date) return `${pg.escapeLiteral(value.toISOString())}::timestamptz`;
  return pg.escapeLiteral(String(value));
}

async function explain(title, call, { writes = false } = {}) {
  captured.length = 0;
  dryRun = writes;
  try {
    await call();
  } finally {
    dryRun = false;
  }
  const { text, values = [] } = captured[0];
  const client = await pool.connect();
  // EXPLAIN ANALYZE runs the statement: a write is rolled back, so both plans see the same table.
  const analyze = async (statement) => {
    if (writes) await client.query('BEGIN');
    try {
      return await client.query(`EXPLAIN (ANALYZE, BUFFERS, SUMMARY OFF) ${statement}`);
    } finally {
      if (writes) await client.query('ROLLBACK');
    }
  };
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    await client.query(`PREPARE shown AS ${text}`);
    const execute = `EXECUTE shown(${values.map(literal).join(', ')})`;
    const generic = await analyze(execute);
    await client.query('SET plan_cache_mode = force_custom_plan');
    const custom = await analyze(execute);
    await client.query('DEALLOCATE shown');
    const plan = (result) => result.rows.map((row) => row['QUERY PLAN']).join('\n');
    console.log(
      `## ${title}\n\n\`\`\`sql\n${text.replace(/\n\s+/g, '\n  ')}\n-- parameters: ${values.map(literal).join(', ')}\n\`\`\`\n`,
    );
    console.log(`Generic plan (prepared statement):\n\n\`\`\`\n${plan(generic)}\n\`\`\`\n`);
    console.log(`Custom plan:\n\n\`\`\`\n${plan(custom)}\n\`\`\`\n`);
  } finally {
    client.release();
  }
}

try {
  await migrate({ connection: url, schema });
  const store = new PostgresEventStore({ connection: spy, schema, notify: false });
  const writer = async (w) => {
    for (let s = w; s < STREAMS; s += 4) {
      const events = Array.from({ length: PER_STREAM }, (_, i) => ({
        type: TYPES[(s + i) % TYPES.length],
        data: { i },
      }));
      await store.appendEvents(`stream-${s}`, ExpectedVersion.NoStream, events);
    }
  };
  await Promise.all([0, 1, 2, 3].map(writer));
  // A rare type (0.1% of the log), where the (type, position) index pays off.
  for (let s = 0; s < 200; s++) {
    await store.appendEvents(`archive-${s}`, ExpectedVersion.NoStream, [{ type: 'Archived', data: { s } }]);
  }
  // Tagged events (dynamic consistency boundaries): course:0..199 (100 events each) and
  // student:0..4999 (4 each), in 200 streams of 100.
  for (let s = 0; s < 200; s++) {
    const events = Array.from({ length: 100 }, (_, i) => {
      const n = s * 100 + i;
      return {
        type: ['StudentSubscribed', 'StudentLeft'][n % 2],
        data: { n },
        tags: [`course:${n % 200}`, `student:${n % 5000}`],
      };
    });
    await store.appendEvents(`enrolments-${s}`, ExpectedVersion.NoStream, events);
  }
  await pool.query(`ANALYZE "${schema}".events`);
  const { rows } = await pool.query(
    `SELECT position FROM "${schema}".events ORDER BY position OFFSET 150000 LIMIT 1`,
  );
  const middle = BigInt(rows[0].position);
  console.log(
    `# Query plans on PostgreSQL (${(await pool.query('SHOW server_version')).rows[0].server_version})\n`,
  );
  console.log(
    `Table "${schema}".events: ${STREAMS * PER_STREAM} events in ${STREAMS} streams of ${TYPES.length} types cycling, plus 200 \`Archived\` events, plus 20000 tagged events (course:0..199, 100 events each; student:0..4999, 4 each); analyzed.\n`,
  );
  await explain('getAllEvents(0n, { batchSize: 500 }): first batch', async () => {
    for await (const _ of store.getAllEvents(0n, { batchSize: 500 })) break;
  });
  await explain('getAllEvents(p, { batchSize: 500 }): a batch in the middle of the log', async () => {
    for await (const _ of store.getAllEvents(middle, { batchSize: 500 })) break;
  });
  await explain("getAllEvents(0n, { eventTypes: ['Closed'] })", async () => {
    for await (const _ of store.getAllEvents(0n, { batchSize: 500, eventTypes: ['Closed'] })) break;
  });
  await explain("getEventsByType('Renamed', since, { afterPosition: p, limit: 100 })", () =>
    store.getEventsByType('Renamed', new Date(0), { afterPosition: middle, limit: 100 }),
  );
  await explain("getEventsByType('Archived') (a rare type)", () => store.getEventsByType('Archived'));
  await explain("getEventsByType(['Opened', 'Closed'], since, { limit: 100 })", () =>
    store.getEventsByType(['Opened', 'Closed'], new Date(0), { limit: 100 }),
  );
  await explain("getEvents('stream-42')", () => store.getEvents('stream-42'));
  await explain("getEvents('stream-42', 50, { limit: 10 })", () =>
    store.getEvents('stream-42', 50, { limit: 10 }),
  );
  await explain(
    "appendEvents('stream-42', 100, [event]): an exact-version append, one INSERT",
    () => store.appendEvents('stream-42', 100, [{ type: 'Deposited', data: { amount: 5 } }]),
    { writes: true },
  );
  await explain(
    "appendEvents('stream-42', 100, tenEvents): a batch at an exact version",
    () =>
      store.appendEvents(
        'stream-42',
        100,
        Array.from({ length: 10 }, (_, i) => ({ type: 'Deposited', data: { amount: i } })),
      ),
    { writes: true },
  );
  // Dynamic consistency boundaries (migration 007).
  await explain("read({ items: [{ tags: ['student:42'] }] }): one tag", () =>
    store.read({ items: [{ tags: ['student:42'] }] }),
  );
  await explain("read({ items: [{ tags: ['course:42', 'student:42'] }] }): two tags, one item", () =>
    store.read({ items: [{ tags: ['course:42', 'student:42'] }] }),
  );
  await explain(
    "read({ items: [{ eventTypes: ['StudentLeft'], tags: ['course:7'] }] }): types and a tag",
    () => store.read({ items: [{ eventTypes: ['StudentLeft'], tags: ['course:7'] }] }),
  );
  await explain(
    "read({ items: [{ tags: ['course:7'] }, { tags: ['student:42'] }] }, { limit: 50 }): two items, a page",
    () => store.read({ items: [{ tags: ['course:7'] }, { tags: ['student:42'] }] }, { limit: 50 }),
  );
  await explain("read({ items: [{ tags: ['stream-42'] }] }): a stream id as a tag", () =>
    store.read({ items: [{ tags: ['stream-42'] }] }),
  );
  // The condition check runs inside <table>_append_if (EXECUTE, planned with its values): shown
  // here as that statement, for a 2-tag item after a position (no match) and for types only.
  const table = `"${schema}".events`;
  await explain(
    "append(events, { condition }): the check of an item { tags: ['course:7', 'student:42'] }",
    async () => {
      captured.push({
        text: `SELECT min(e.position) FROM ${table} e
             WHERE ((e.tags @> $2 AND e.tags <> '{}')
                    OR (e.stream_id = ANY($2) AND e.tags @> array_remove($2, e.stream_id)))
               AND e.position > $1`,
        values: [middle.toString(), ['course:7', 'student:42']],
      });
    },
  );
  await explain(
    "append(events, { condition }): the check of an item { eventTypes: ['Archived'] } (one probe per type)",
    async () => {
      captured.push({
        text: `SELECT e.position FROM ${table} e WHERE e.type = $1 AND e.position > $2
                 ORDER BY e.position LIMIT 1`,
        values: ['Archived', middle.toString()],
      });
    },
  );
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
}
