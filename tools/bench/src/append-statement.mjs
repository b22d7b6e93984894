// Where a 100-event append's time goes on the server: the store's own multi-event append statement
// (captured from @es/store-postgres), the same statement without its DCB writer locks, the same on
// a table without the (type, position) index, and raw's multi-row insert, each run on one
// connection one after the other, interleaved, each on its own schema. Prints medians in µs.
//
//   node tools/bench/src/append-statement.mjs [--rounds 300] [--url postgres://postgres@127.0.0.1:5432/es_bench]
//
// It isolates the statement (round trip included) from the client's work and from concurrency;
// W2 in main.mjs measures the whole append with 4 writers.
import { randomUUID } from 'node:crypto';
import { migrate, PostgresEventStore } from '@es/store-postgres';
import pg from 'pg';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}
const url = option('url', 'postgres://postgres@127.0.0.1:5432/es_bench');
const rounds = Number(option('rounds', '300'));
const pool = new pg.Pool({ connectionString: url, max: 2 });
const stamp = Date.now().toString(36);
const batch = (n) =>
  Array.from({ length: n }, (_, i) => ({
    type: 'Deposited',
    data: { amount: i, currency: 'EUR', note: `deposit ${i}` },
  }));

// The store's statement, captured by a connection that records it instead of running it.
let captured;
const capturing = {
  query: (config) => {
    if (String(config?.name ?? '').startsWith('es-append-many')) {
      captured = config.text;
      return Promise.resolve({ rows: [{ position: '1' }] });
    }
    return pool.query(config);
  },
  connect: () => pool.connect(),
  end: async () => undefined,
};
const templateSchema = `append_stmt_template_${stamp}`;
await migrate({ connection: url, schema: templateSchema });
await new PostgresEventStore({ connection: capturing, schema: templateSchema })
  .appendEvents('capture', 0, batch(100))
  .catch(() => undefined);
if (!captured) throw new Error('the store sent no multi-event append statement');
const locksFrom = captured.indexOf(' AND ((SELECT count(*) FROM (');
const locksTo = captured.indexOf('locked) > 0)') + 'locked) > 0)'.length;
if (locksFrom < 0 || locksTo < locksFrom) throw new Error('writer locks not found in the statement');

const variants = {
  store: { sql: captured },
  // Keeps $5 and $6 in use so the parameters stay the same.
  'no writer locks': {
    sql: captured.replace(
      captured.slice(locksFrom, locksTo),
      ' AND ($5::text[] IS NOT NULL OR $6::text[] IS NOT NULL)',
    ),
  },
  'no type index': { sql: captured, dropTypeIndex: true },
};
for (const [name, variant] of Object.entries(variants)) {
  variant.schema = `append_stmt_${Object.keys(variants).indexOf(name)}_${stamp}`;
  await migrate({ connection: url, schema: variant.schema });
  if (variant.dropTypeIndex) await pool.query(`DROP INDEX "${variant.schema}".events_type_position_idx`);
  // The first append opens the schema's era: before it, the statement writes nothing.
  const primer = new PostgresEventStore({ connection: url, schema: variant.schema });
  await primer.appendEvents('prime', 0, batch(1));
  await primer.close();
  variant.sql = variant.sql.replaceAll(templateSchema, variant.schema);
}
const rawSchema = `append_stmt_raw_${stamp}`;
await pool.query(`CREATE SCHEMA "${rawSchema}"`);
await pool.query(`CREATE TABLE "${rawSchema}".events (
    position bigserial PRIMARY KEY, stream_id text NOT NULL, version integer NOT NULL, event_id uuid NOT NULL,
    type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, version))`);
const rawInsert = `INSERT INTO "${rawSchema}".events (stream_id, version, event_id, type, data)
  SELECT $1::text, $2::integer + x.n, x.id, x.type, x.data
  FROM unnest($3::uuid[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS x(id, type, data, n)
  WHERE $2::integer = 0 OR EXISTS (SELECT 1 FROM "${rawSchema}".events e
                                   WHERE e.stream_id = $1::text AND e.version = $2::integer)`;

const names = [...Object.keys(variants), 'raw'];
const times = Object.fromEntries(names.map((name) => [name, []]));
const client = await pool.connect();
try {
  for (let round = 0; round < rounds; round++) {
    const streamId = `s-${round % 50}`;
    const expected = Math.floor(round / 50) * 100;
    const events = batch(100);
    // Alternate the order so that no contender always runs right after another.
    for (const name of round % 2 ? names : [...names].reverse()) {
      const query =
        name === 'raw'
          ? {
              name: `raw-${stamp}`,
              text: rawInsert,
              values: [
                streamId,
                expected,
                events.map(() => randomUUID()),
                events.map((e) => e.type),
                events.map((e) => JSON.stringify(e.data)),
              ],
            }
          : {
              name: `${name}-${stamp}`,
              text: variants[name].sql,
              // As the store sends it: the events as one JSON array, no tags, one type.
              values: [
                streamId,
                expected,
                JSON.stringify(
                  events.map((e) => ({ id: randomUUID(), type: e.type, sv: 1, data: e.data, meta: {} })),
                ),
                false,
                [],
                ['Deposited'],
              ],
            };
      const started = performance.now();
      const { rows, rowCount } = await client.query(query);
      times[name].push(performance.now() - started);
      if (name === 'raw' ? rowCount !== 100 : rows[0]?.position == null)
        throw new Error(`${name}: the append was not written (round ${round})`);
    }
  }
} finally {
  client.release();
  for (const schema of [templateSchema, rawSchema, ...Object.values(variants).map((v) => v.schema)])
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`One 100-event append statement, ${rounds} interleaved rounds on one connection (median):\n`);
console.log('| statement | median µs | vs raw |');
console.log('| --- | ---: | ---: |');
for (const name of names) {
  const value = median(times[name]) * 1000;
  console.log(`| ${name} | ${value.toFixed(0)} | ${(median(times.raw) / median(times[name])).toFixed(2)}x |`);
}
