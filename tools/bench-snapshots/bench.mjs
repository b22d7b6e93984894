#!/usr/bin/env node
// Time to load one aggregate whose stream has 1,000, 10,000 and 100,000 events, without snapshots
// (replay every event) and with them (latest snapshot + the events after it), on PostgreSQL.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --expose-gc tools/bench-snapshots/bench.mjs
//   node --expose-gc tools/bench-snapshots/bench.mjs --pglite   # embedded PostgreSQL instead
//   options: --sizes 1000,10000,100000  --repeats 15  --warmup 2  --tail 49  --settle 250 (ms)
//            --only with (time one contender alone)
//
// Each stream is seeded once; its snapshot is taken by the repository itself (a save after a full
// load, with FrequencySnapshotStrategy), then `tail` more events are appended, so a load with
// snapshots reads the snapshot plus `tail` events, as it would between two snapshots. Both
// contenders load the same stream, interleaved in random order each round, after warm-up rounds;
// the table shows medians. A warm-up stream is loaded 40 times first (JIT, prepared statements). Needs the packages built: `npx nx run-many -t build`.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { EventSourcedAggregate, EventSourcedRepository, ExpectedVersion } from '@es/core';
import { FrequencySnapshotStrategy } from '@es/snapshots';
import { createSqlExecutor, migrate, PostgresEventStore, PostgresSnapshotStore } from '@es/store-postgres';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    repeats: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '2' },
    tail: { type: 'string', default: '49' },
    settle: { type: 'string', default: '250' },
    pglite: { type: 'boolean', default: false },
    // Time only these contenders (e.g. "with"), to see one without the other's load in between.
    only: { type: 'string', default: 'without,with' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const repeats = Number(args.repeats);
const warmup = Number(args.warmup);
const tail = Number(args.tail);
const BATCH = 5_000;
const settleMs = Number(args.settle);

class Account extends EventSourcedAggregate {
  state = { balance: 0, deposits: 0, withdrawals: 0, recent: [] };
  apply(event) {
    const s = this.state;
    const amount = event.data.amount;
    this.state = {
      balance: event.type === 'Deposited' ? s.balance + amount : s.balance - amount,
      deposits: s.deposits + (event.type === 'Deposited' ? 1 : 0),
      withdrawals: s.withdrawals + (event.type === 'Withdrawn' ? 1 : 0),
      recent: [...s.recent.slice(-4), amount],
    };
  }
  deposit(amount) {
    this.raiseEvent({ type: 'Deposited', data: { amount, memo: 'bench deposit' } });
  }
  createSnapshot() {
    return this.state;
  }
  restoreSnapshot(state) {
    this.state = state;
  }
}

const eventAt = (i) =>
  i % 5 === 0
    ? { type: 'Withdrawn', data: { amount: (i % 50) + 1, memo: 'bench withdrawal' } }
    : { type: 'Deposited', data: { amount: (i % 100) + 1, memo: 'bench deposit' } };

async function appendRange(store, streamId, from, count) {
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    const version = from + start;
    const events = Array.from({ length: size }, (_, k) => eventAt(version + k + 1));
    await store.appendEvents(streamId, version === 0 ? ExpectedVersion.NoStream : version, events);
  }
}

async function seed(store, withSnapshots, streamId, size) {
  await appendRange(store, streamId, 0, size - tail - 1);
  const account = await withSnapshots.getById(streamId); // full replay: no snapshot yet
  account.deposit(1);
  await withSnapshots.save(account); // the strategy sees size - tail events since none: snapshot
  await appendRange(store, streamId, size - tail, tail);
}

const sleep = (delay) => new Promise((resolve) => setTimeout(resolve, delay));
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const quantile = (xs, q) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
};
const spread = (xs) => `${quantile(xs, 0.25).toFixed(1)}–${quantile(xs, 0.75).toFixed(1)}`;
const median = (xs) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

async function timeLoads(contenders, streamId) {
  const times = { without: [], with: [] };
  for (let round = 0; round < warmup + repeats; round++) {
    const order = Math.random() < 0.5 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      // A collection before each load, then a pause for V8's background sweeping to finish, so one
      // contender's garbage is not timed in the other's run.
      globalThis.gc?.();
      await sleep(settleMs);
      const start = process.hrtime.bigint();
      const account = await contender.repository.getById(streamId);
      const elapsed = ms(start);
      contender.check(account);
      if (round >= warmup) times[contender.name].push(elapsed);
    }
  }
  return times;
}

async function main() {
  const url = process.env.DATABASE_URL;
  let db;
  let connection;
  let where;
  if (args.pglite || !url) {
    if (!args.pglite)
      console.error('DATABASE_URL is not set: using embedded PGlite (pass --pglite to silence this).');
    const { PGlite } = await import('@electric-sql/pglite');
    db = new PGlite();
    connection = db;
    where = 'PGlite 0.5.16 (embedded, in process)';
  } else {
    connection = url;
    where = `PostgreSQL server at ${url.replace(/\/\/[^@]*@/, '//')}`;
  }
  const executor = createSqlExecutor(connection);
  const schema = `es_bench_${randomBytes(4).toString('hex')}`;
  await migrate({ connection: executor, schema });
  const [{ version }] = await executor
    .query({ text: 'SHOW server_version' })
    .then((rows) => rows.map((r) => ({ version: r.server_version })));
  // One event store (one connection pool on a server) per role: a contender's connection never
  // carries the other's 100,000-row reads, which slow the next query on that connection.
  const openStore = () => new PostgresEventStore({ connection, schema, notify: false });
  const stores = { seeding: openStore(), without: openStore(), with: openStore() };
  const snapshots = new PostgresSnapshotStore({ connection: executor, schema });
  const factory = (id) => new Account(id);
  const snapshotting = (eventStore) =>
    new EventSourcedRepository({
      eventStore,
      factory,
      snapshots: {
        store: snapshots,
        strategy: new FrequencySnapshotStrategy(100),
        onError: (p) => {
          throw p.error;
        },
      },
    });
  const seeder = snapshotting(stores.seeding);
  const withSnapshots = snapshotting(stores.with);
  const without = new EventSourcedRepository({ eventStore: stores.without, factory });

  console.log(`Load time of one aggregate, ${where} (server ${version}), Node ${process.version}`);
  console.log(
    `medians of ${repeats} loads per cell after ${warmup} warm-up rounds, contenders interleaved in random order`,
  );
  console.log(`with snapshots: latest snapshot + the ${tail} events after it`);
  console.log(
    globalThis.gc
      ? 'heap collected before each load\n'
      : 'run with node --expose-gc to collect the heap before each load\n',
  );
  const rows = [];
  try {
    await warmUp(stores.seeding, seeder, withSnapshots, without);
    for (const size of sizes) {
      const streamId = `bench-${size}`;
      const seeding = process.hrtime.bigint();
      await seed(stores.seeding, seeder, streamId, size);
      const snapshot = await snapshots.load(streamId);
      const expected = (await seeder.getById(streamId)).state;
      const check = (account) => {
        if (account.version !== size || JSON.stringify(account.state) !== JSON.stringify(expected)) {
          throw new Error(`wrong state loaded for ${streamId}`);
        }
      };
      const contenders = [
        { name: 'without', repository: without, check },
        { name: 'with', repository: withSnapshots, check },
      ];
      const only = args.only.split(',');
      const times = await timeLoads(
        contenders.filter((c) => only.includes(c.name)),
        streamId,
      );
      rows.push({
        size,
        without: median(times.without),
        with: median(times.with),
        withoutSpread: spread(times.without),
        withSpread: spread(times.with),
        read: size - snapshot.aggregateVersion,
        seedSeconds: ms(seeding) / 1000,
      });
    }
  } finally {
    await executor.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const store of Object.values(stores)) await store.close();
    await executor.close();
    await db?.close();
  }
  printTable(rows);
}

// JIT, prepared statements and pool connections warm up on a stream of its own before any timing.
async function warmUp(store, seeder, withSnapshots, without) {
  const streamId = 'bench-warm-up';
  await seed(store, seeder, streamId, 2_000);
  for (let i = 0; i < 40; i++) {
    await without.getById(streamId);
    await withSnapshots.getById(streamId);
  }
}

function printTable(rows) {
  const header = [
    'events in stream',
    'without snapshots (ms)',
    'p25–p75',
    'with snapshots (ms)',
    'p25–p75',
    'speed-up',
    'events read with',
  ];
  const body = rows.map((r) => [
    r.size.toLocaleString('en-US'),
    r.without.toFixed(2),
    r.withoutSpread,
    r.with.toFixed(2),
    r.withSpread,
    `${(r.without / r.with).toFixed(1)}x`,
    String(r.read),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of body) console.log(line(row));
  const flat = rows.map((r) => r.with);
  console.log(
    `\nwith snapshots, largest / smallest stream: ${(Math.max(...flat) / Math.min(...flat)).toFixed(2)}x ` +
      `(without: ${(rows.at(-1).without / rows[0].without).toFixed(1)}x)`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
