// MongoDB append contention benchmark. Usage:
//   MONGO_URL='mongodb://127.0.0.1:27017/?replicaSet=rs0' pnpm --filter @es/bench-mongo bench
//   BENCH_SECONDS (default 10) per run   BENCH_WRITERS (default "8,32")   BENCH_PARTITIONS (default 4)
//   BENCH_EVENTS events per append (default 1)   BENCH_DATABASE (default es_bench_mongo)
// Every append of one events collection writes its one position counter, so appends to that
// collection run one at a time whatever their streams; the loser of a race is retried after a
// short jittered wait. This measures what that costs: each writer appends to its own stream in a
// loop for BENCH_SECONDS, first all on one collection, then spread over BENCH_PARTITIONS partitions
// (`partition` option: one collection and counter each). Prints appends per second and the p50,
// p99 and max latency of one append, and counts the appends that failed (by error code), then drops
// its collections.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ExpectedVersion } from '@es/core';
import { MongoEventStore, migrate } from '@es/store-mongo';
import { MongoClient } from 'mongodb';

const url = process.env.MONGO_URL;
if (!url) {
  console.error(
    'Set MONGO_URL to a MongoDB replica set or mongos, e.g. ' +
      "MONGO_URL='mongodb://127.0.0.1:27017/?replicaSet=rs0' pnpm --filter @es/bench-mongo bench. " +
      'Nothing was measured.',
  );
  process.exit(2);
}

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const writerCounts = (process.env.BENCH_WRITERS ?? '8,32').split(',').map(Number);
const partitions = Number(process.env.BENCH_PARTITIONS ?? 4);
const eventsPerAppend = Number(process.env.BENCH_EVENTS ?? 1);
const database = process.env.BENCH_DATABASE ?? 'es_bench_mongo';

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function run(client, { writers, partitionCount }) {
  const base = `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const stores = Array.from(
    { length: partitionCount },
    (_, index) =>
      new MongoEventStore({
        connection: client,
        database,
        collection: base,
        ...(partitionCount > 1 ? { partition: `p${index}` } : {}),
      }),
  );
  for (const store of stores) {
    await migrate({ connection: client, database, collections: { events: store.collectionName } });
  }
  // Warm up: one append per store, so the first-use checks are not measured.
  for (const store of stores) {
    await store.appendEvents(`warm-${randomUUID()}`, ExpectedVersion.Any, [{ type: 'Warm', data: {} }]);
  }
  const latencies = [];
  const failures = new Map();
  const endAt = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const store = stores[writer % stores.length];
      const streamId = `writer-${writer}-${randomUUID()}`;
      const events = Array.from({ length: eventsPerAppend }, (_, i) => ({
        type: 'Measured',
        data: { writer, i, note: 'x'.repeat(100) },
      }));
      while (performance.now() < endAt) {
        const before = performance.now();
        try {
          await store.appendEvents(streamId, ExpectedVersion.Any, events);
          latencies.push(performance.now() - before);
        } catch (error) {
          const code = error?.code ?? error?.name ?? 'unknown';
          const kind = /outcome is unknown/.test(String(error?.message)) ? `${code} (outcome unknown)` : code;
          failures.set(kind, (failures.get(kind) ?? 0) + 1);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const store of stores) {
    await client
      .db(database)
      .collection(store.collectionName)
      .drop()
      .catch(() => false);
    await client
      .db(database)
      .collection(`${store.collectionName}_positions`)
      .drop()
      .catch(() => false);
    await client
      .db(database)
      .collection('es_schema_migrations')
      .deleteMany({ collection: { $in: [store.collectionName, `${store.collectionName}_positions`] } });
    await store.close();
  }
  latencies.sort((a, b) => a - b);
  return {
    layout: partitionCount > 1 ? `${partitionCount} partitions` : 'one collection',
    writers,
    appends: latencies.length,
    'appends/s': Math.round(latencies.length / elapsed),
    'p50 ms': Number(percentile(latencies, 50)?.toFixed(1)),
    'p99 ms': Number(percentile(latencies, 99)?.toFixed(1)),
    'max ms': Number(latencies.at(-1)?.toFixed(1)),
    failed: [...failures].map(([kind, count]) => `${kind}: ${count}`).join(', ') || 0,
  };
}

const client = new MongoClient(url, { maxPoolSize: Math.max(...writerCounts) * 2 + 10 });
try {
  const hello = await client.db(database).admin().command({ hello: 1 });
  const topology = hello.msg === 'isdbgrid' ? 'sharded cluster (mongos)' : `replica set ${hello.setName}`;
  console.log(
    `MongoDB ${topology}, ${seconds} s per run, ${eventsPerAppend} event(s) per append, database ${database}`,
  );
  const rows = [];
  for (const writers of writerCounts) {
    rows.push(await run(client, { writers, partitionCount: 1 }));
    if (partitions > 1) rows.push(await run(client, { writers, partitionCount: partitions }));
  }
  console.table(rows);
} catch (error) {
  console.error(`The benchmark stopped: ${error?.message ?? error}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
