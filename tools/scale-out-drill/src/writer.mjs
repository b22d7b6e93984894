// One writer process of the drill: appends DRILL_EVENTS events to streams of its own
// (`drill-w<writer>-<n>`), DRILL_BATCH events per append with the expected version, from DRILL_LANES
// concurrent loops on disjoint streams. Each event is `Amount { amount }` with an amount from a
// seeded generator. Prints `{ "type": "done", ... }` on stdout and exits 0 when all are appended.
import { PostgresEventStore } from '@es/store-postgres';
import pg from 'pg';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`scale-out-drill writer: ${name} is not set (the drill's test sets it).`);
  return value;
};
const url = env('DATABASE_URL');
const schema = env('DRILL_SCHEMA');
const writer = Number(env('DRILL_WRITER'));
const total = Number(env('DRILL_EVENTS'));
const streams = Number(env('DRILL_STREAMS'));
const batch = Number(env('DRILL_BATCH'));
const lanes = Number(process.env.DRILL_LANES ?? 4);

// A small deterministic generator (mulberry32), so each run's amounts are reproducible.
let seed = 0x9e3779b9 ^ writer;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const pool = new pg.Pool({ connectionString: url, max: lanes });
const store = new PostgresEventStore({ connection: pool, schema, notify: true });
const versions = new Array(streams).fill(0);
let appended = 0;
const started = Date.now();

// Lane `l` writes streams l, l + lanes, l + 2 * lanes...: no two lanes share a stream.
async function lane(l) {
  const mine = [];
  for (let s = l; s < streams; s += lanes) mine.push(s);
  while (appended < total) {
    const size = Math.min(batch, total - appended);
    appended += size;
    const s = mine[Math.floor(random() * mine.length)];
    const events = Array.from({ length: size }, () => ({
      type: 'Amount',
      data: { amount: 1 + Math.floor(random() * 100) },
    }));
    const result = await store.appendEvents(`drill-w${writer}-${s}`, versions[s], events);
    versions[s] = result.nextVersion;
  }
}

try {
  await Promise.all(Array.from({ length: Math.min(lanes, streams) }, (_, l) => lane(l)));
  process.stdout.write(`${JSON.stringify({ type: 'done', writer, appended, ms: Date.now() - started })}\n`);
  await store.close();
  await pool.end();
} catch (error) {
  process.stderr.write(`[writer ${writer}] ${error?.stack ?? error}\n`);
  process.exit(1);
}
