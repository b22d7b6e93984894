// Profile of the store's read paths (issue 16, W3 and W4) against raw readers on the same table,
// in one process, over interleaved rounds (the order rotates each round); prints medians.
//
//   node tools/bench/src/read-paths.mjs [--rounds 11] [--metadata] [--before <dist/index.js>]
//     [--only <regular expression: the reads to run>] [--url postgres://postgres@127.0.0.1:5432/es_bench]
//
// --metadata gives every event a correlation and causation id (the W3/W4 events have none);
// --before adds a second build of @es/store-postgres (another commit's dist/index.js), reading the
// same table. A fresh schema is created, filled and dropped at the end.
import { EventRegistry, typed } from '@es/core';
import * as current from '@es/store-postgres';
import pg from 'pg';
import { median } from './table.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const rounds = Number(option('rounds', '11'));
const url = option('url', process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/es_bench');
const withMetadata = args.includes('--metadata');
const beforePath = option('before', undefined);
// Only the reads whose name matches this regular expression (and no in-process steps), e.g. --only W4.
const only = option('only', undefined);

const STREAM_SIZE = 10_000;
const LOG_SIZE = 100_000;
const BATCH = 1_000;
const COLUMNS =
  'event_id, stream_id, version, position, type, schema_version, data, metadata, created_at, tags';

async function ensureDatabase() {
  const target = new URL(url);
  const admin = new pg.Client({
    connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).href,
  });
  await admin.connect();
  const name = decodeURIComponent(target.pathname.slice(1));
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (rowCount === 0) await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  await admin.end();
}

// Every column as the driver's raw text: what the driver costs before any type parser.
const TEXT_ONLY = { getTypeParser: () => (text) => text };

const event = (i) => ({
  type: 'Deposited',
  data: { amount: i, currency: 'EUR', note: `deposit ${i}` },
  ...(withMetadata ? { metadata: { correlationId: `c-${i >> 4}`, causationId: `m-${i}` } } : {}),
});

function touchAll(e) {
  // Reads every field the way a caller would, deep enough to make each value exist.
  return (
    e.eventId.length +
    e.streamId.length +
    e.version +
    Number(e.position & 1n) +
    e.type.length +
    e.schemaVersion +
    (e.data ? 1 : 0) +
    Object.keys(e.metadata).length +
    e.timestamp.getTime() +
    e.tags.length
  );
}

async function main() {
  await ensureDatabase();
  const schema = `read_paths_${process.pid}`;
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const table = `"${schema}".events`;
  await current.migrate({ connection: pool, schema });
  const store = new current.PostgresEventStore({ connection: pool, schema, notify: false });
  const registry = new EventRegistry().register('Deposited', typed());
  const registered = new current.PostgresEventStore({ connection: pool, schema, notify: false, registry });
  // Its own pool: two builds may prepare different texts under one statement name.
  const beforePool = beforePath ? new pg.Pool({ connectionString: url, max: 4 }) : undefined;
  const before = beforePath
    ? new (await import(beforePath)).PostgresEventStore({ connection: beforePool, schema, notify: false })
    : undefined;
  try {
    for (let v = 0; v < STREAM_SIZE; v += BATCH) {
      await store.appendEvents(
        'w3-long',
        v,
        Array.from({ length: BATCH }, (_, i) => event(v + i)),
      );
    }
    let last = 0n;
    for (let s = 0; s < (LOG_SIZE - STREAM_SIZE) / BATCH; s++) {
      ({ lastPosition: last } = await store.appendEvents(
        `w4-${s}`,
        0,
        Array.from({ length: BATCH }, (_, i) => event(i)),
      ));
    }
    await pool.query(`VACUUM ANALYZE ${table}`);
    // Events stay hidden while an older transaction of the cluster runs: wait for the last one.
    for (const deadline = Date.now() + 120_000; ; ) {
      let seen = false;
      for await (const e of store.getAllEvents(last - 1n, { batchSize: 1 })) seen ||= e.position === last;
      if (seen) break;
      if (Date.now() > deadline) throw new Error('the last append did not become visible within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // The store's own statements, recorded from one read of each kind, to run them without its
    // decoding (the driver's text only): their cost on the server and in the driver.
    const recorded = new Map();
    const recorder = {
      query: (config) => {
        recorded.set(config.values.length, config.text);
        return pool.query(config);
      },
      connect: () => pool.connect(),
      end: async () => undefined,
    };
    const recording = new current.PostgresEventStore({ connection: recorder, schema, notify: false });
    await recording.getEvents('w3-long', 0, { limit: 1 });
    for await (const _ of recording.getAllEvents(0n, { batchSize: 1 })) break;
    await recording.close();
    const storeStreamSql = recorded.get(4);
    const storePageSql = recorded.get(2);

    const streamSql = (columns) => `SELECT ${columns} FROM ${table} WHERE stream_id = $1 ORDER BY version`;
    const pageSql = (columns) =>
      `SELECT ${columns} FROM ${table} WHERE position > $1 ORDER BY position LIMIT $2`;
    const rawStream = async (columns, extra) =>
      (await pool.query({ text: streamSql(columns), values: ['w3-long'], ...extra })).rows.length;
    // Pages of the log in position order; `at` says where the position is in a row.
    const rawLog = async (columns, extra, at, visit) => {
      let after = '0';
      let count = 0;
      for (;;) {
        const { rows } = await pool.query({ text: pageSql(columns), values: [after, BATCH], ...extra });
        for (const row of rows) count += visit(row);
        if (rows.length < BATCH) return count;
        after = at(rows[rows.length - 1]);
      }
    };
    const storeLog = async (s, visit) => {
      let count = 0;
      for await (const e of s.getAllEvents(0n, { batchSize: BATCH })) count += visit(e);
      return count;
    };
    const one = () => 1;
    const cases = {
      'W3 raw narrow (version, type, data)': () => rawStream('version, type, data', { rowMode: 'array' }),
      'W3 raw full (all columns, objects)': () => rawStream(COLUMNS, {}),
      'W3 driver only (all columns as text)': () =>
        rawStream(COLUMNS, { rowMode: 'array', types: TEXT_ONLY }),
      'W3 driver + pg parsers (arrays)': () => rawStream(COLUMNS, { rowMode: 'array' }),
      "W3 store's statement, driver only (text)": async () =>
        (
          await pool.query({
            text: storeStreamSql,
            values: ['w3-long', 0, 2_147_483_647, null],
            rowMode: 'array',
            types: TEXT_ONLY,
          })
        ).rows.length,
      'W3 store getEvents': async () => (await store.getEvents('w3-long')).length,
      'W3 store getEvents, every field read': async () => {
        let n = 0;
        for (const e of await store.getEvents('w3-long')) n += touchAll(e) > 0 ? 1 : 0;
        return n;
      },
      'W3 store getEvents, registry': async () => (await registered.getEvents('w3-long')).length,
      ...(before ? { 'W3 before getEvents': async () => (await before.getEvents('w3-long')).length } : {}),
      'W4 raw narrow (position, version, type, data)': () =>
        rawLog(
          'position, version, type, data',
          { rowMode: 'array' },
          (r) => r[0],
          (r) => (r[1] ? 1 : 0),
        ),
      'W4 raw full (all columns, objects)': () =>
        rawLog(
          COLUMNS,
          {},
          (r) => r.position,
          (r) => (r.stream_id && r.version ? 1 : 0),
        ),
      'W4 driver only (all columns as text)': () =>
        rawLog(COLUMNS, { rowMode: 'array', types: TEXT_ONLY }, (r) => r[3], one),
      "W4 store's statement, driver only (text)": async () => {
        let after = '0';
        let count = 0;
        for (;;) {
          const { rows } = await pool.query({
            text: storePageSql,
            values: [after, BATCH],
            rowMode: 'array',
            types: TEXT_ONLY,
          });
          count += rows.length;
          if (rows.length < BATCH) return count;
          after = rows[rows.length - 1][3];
        }
      },
      'W4 store getAllEvents': () => storeLog(store, (e) => (e.streamId && e.version ? 1 : 0)),
      'W4 store getAllEvents, every field read': () => storeLog(store, (e) => (touchAll(e) > 0 ? 1 : 0)),
      'W4 store getAllEvents, registry': () => storeLog(registered, (e) => (e.streamId && e.version ? 1 : 0)),
      ...(before
        ? { 'W4 before getAllEvents': () => storeLog(before, (e) => (e.streamId && e.version ? 1 : 0)) }
        : {}),
    };

    // Per column: the driver's parser (pg.types) over the raw text of the whole log, and building
    // the eager event objects from parsed values; in-process, no I/O.
    const { rows: texts } = await pool.query({
      text: `SELECT ${COLUMNS} FROM ${table} ORDER BY position`,
      rowMode: 'array',
      types: TEXT_ONLY,
    });
    const parser = (oid) => pg.types.getTypeParser(oid, 'text');
    const column = (i, parse) => () => {
      let n = 0;
      for (const row of texts) n += parse(row[i]) === undefined ? 0 : 1;
      return n;
    };
    const parsed = texts.map((r) => [r[0], r[1], Number(r[2]), r[3], r[4], Number(r[5]), JSON.parse(r[6])]);
    const micro = {
      'parse data (jsonb, JSON.parse)': column(6, parser(3802)),
      'parse metadata (jsonb, JSON.parse)': column(7, parser(3802)),
      'parse created_at (timestamptz, pg)': column(8, parser(1184)),
      'parse tags (text[], pg)': column(9, parser(1009)),
      'parse position (int8 -> BigInt)': column(3, BigInt),
      'parse version + schema_version (int4)': () => (column(2, parser(23))() + column(5, parser(23))()) / 2,
      'build 10-field objects (eager)': () => {
        let n = 0;
        const meta = {};
        const when = new Date(0);
        const tags = [];
        for (const r of parsed) {
          const e = {
            eventId: r[0],
            streamId: r[1],
            version: r[2],
            position: 1n,
            type: r[4],
            schemaVersion: r[5],
            data: r[6],
            metadata: meta,
            timestamp: when,
            tags,
          };
          n += e.version > 0 ? 1 : 0;
        }
        return n;
      },
      'registry.decode (no schema, no upcaster)': () => {
        let n = 0;
        for (const r of parsed) n += registry.decode({ type: r[4], schemaVersion: r[5], data: r[6] }) ? 1 : 0;
        return n;
      },
    };

    if (only) {
      for (const name of Object.keys(cases)) if (!new RegExp(only).test(name)) delete cases[name];
      for (const name of Object.keys(micro)) delete micro[name];
    }
    const all = { ...cases, ...micro };
    const times = Object.fromEntries(Object.keys(all).map((k) => [k, []]));
    const cpu = Object.fromEntries(Object.keys(all).map((k) => [k, []]));
    const names = Object.keys(all);
    for (const name of names) await all[name](); // warm-up: plans, connections, JIT
    for (let round = 0; round < rounds; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        const cpuStarted = process.cpuUsage();
        const started = performance.now();
        const count = await all[name]();
        times[name].push(performance.now() - started);
        const used = process.cpuUsage(cpuStarted);
        cpu[name].push((used.user + used.system) / 1000);
        const expected = name.startsWith('W3') ? STREAM_SIZE : LOG_SIZE;
        if (count !== expected) throw new Error(`${name}: ${count} events, expected ${expected}`);
      }
    }

    const med = Object.fromEntries(names.map((n) => [n, median(times[n])]));
    const ratio = (name, base) => (med[base] ? (med[base] / med[name]).toFixed(2) : '-');
    const w3n = 'W3 raw narrow (version, type, data)';
    const w3f = 'W3 raw full (all columns, objects)';
    const w4n = 'W4 raw narrow (position, version, type, data)';
    const w4f = 'W4 raw full (all columns, objects)';
    console.log(
      `read paths: ${rounds} interleaved rounds, medians; metadata: ${withMetadata ? 'yes' : 'no'}; node ${process.version}`,
    );
    console.log('| read | median ms | vs raw narrow | vs raw full | this process CPU ms |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const name of Object.keys(cases)) {
      const w3 = name.startsWith('W3');
      console.log(
        `| ${name} | ${med[name].toFixed(1)} | ${ratio(name, w3 ? w3n : w4n)}x | ${ratio(name, w3 ? w3f : w4f)}x | ${median(cpu[name]).toFixed(1)} |`,
      );
    }
    if (only) return;
    console.log('\nIn process, over the 100,000 rows of the log (no I/O):');
    console.log('| step | median ms | ns per event |');
    console.log('| --- | ---: | ---: |');
    for (const name of Object.keys(micro)) {
      console.log(`| ${name} | ${med[name].toFixed(1)} | ${((med[name] * 1e6) / LOG_SIZE).toFixed(0)} |`);
    }
  } finally {
    await store.close();
    await registered.close();
    await before?.close();
    await beforePool?.end();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

await main();
