// The four workloads of the issue, run against one contender in a fresh schema.

/** Sizes of one run. W4's log is topped up to `logSize` events after W1-W3. */
export const DEFAULT_SIZES = {
  w1Writers: 8,
  w1Streams: 1_000,
  w1Events: 16_000,
  // W1 again with 1 and 64 writers (issue 16: the table for 1, 8 and 64 writers).
  w1SoloEvents: 2_000,
  w1SoloStreams: 100,
  w1ManyWriters: 64,
  w1ManyStreams: 1_024,
  w1ManyEvents: 16_000,
  w2Writers: 4,
  w2BatchSize: 100,
  w2Events: 40_000,
  w3StreamSize: 10_000,
  logSize: 100_000,
  readBatchSize: 1_000,
};

const event = (i) => ({ type: 'Deposited', data: { amount: i, currency: 'EUR', note: `deposit ${i}` } });
const batchOf = (size, offset) => Array.from({ length: size }, (_, i) => event(offset + i));

/**
 * Everything a contender wrote, by stream: the versions 1..n it acknowledged, so the global-log
 * check knows exactly which events must appear once.
 */
class Ledger {
  streams = new Map();
  add(streamId, count) {
    this.streams.set(streamId, (this.streams.get(streamId) ?? 0) + count);
  }
  get total() {
    let total = 0;
    for (const count of this.streams.values()) total += count;
    return total;
  }
}

/** The q-quantile of `values` (nearest rank). */
function quantile(values, q) {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/**
 * W1: `writers` writers, single-event appends at exact expected versions, over `streams` streams
 * (each writer owns its streams, so no conflicts). Returns events/s and the p50/p99 latency of one
 * append in ms.
 */
async function w1(contender, ledger, { prefix, writers, streams, events }) {
  const perWriter = events / writers;
  const latencies = [];
  const writer = async (w) => {
    // Writer w owns streams w, w + writers, ...: it knows each stream's version without reading.
    const own = Array.from({ length: streams / writers }, (_, k) => `${prefix}-${w + k * writers}`);
    for (let i = 0; i < perWriter; i++) {
      const streamId = own[i % own.length];
      const expected = Math.floor(i / own.length);
      const sent = performance.now();
      await contender.append(streamId, expected, [event(i)]);
      latencies.push(performance.now() - sent);
      ledger.add(streamId, 1);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  return {
    eventsPerSec: events / ((performance.now() - started) / 1000),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
  };
}

/** W2: 4 writers, appends of 100 events, each writer on its own 10 streams at exact versions. */
async function w2(contender, sizes, ledger) {
  const appendsPerWriter = sizes.w2Events / sizes.w2Writers / sizes.w2BatchSize;
  const writer = async (w) => {
    for (let i = 0; i < appendsPerWriter; i++) {
      const streamId = `w2-${w}-${i % 10}`;
      const expected = Math.floor(i / 10) * sizes.w2BatchSize;
      await contender.append(streamId, expected, batchOf(sizes.w2BatchSize, i * sizes.w2BatchSize));
      ledger.add(streamId, sizes.w2BatchSize);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: sizes.w2Writers }, (_, w) => writer(w)));
  return sizes.w2Events / ((performance.now() - started) / 1000);
}

/** W3: load one 10,000-event stream (written untimed in appends of 1,000). */
async function w3Load(contender, sizes, ledger) {
  const streamId = 'w3-long';
  for (let version = 0; version < sizes.w3StreamSize; version += 1_000) {
    await contender.append(streamId, version, batchOf(1_000, version));
    ledger.add(streamId, 1_000);
  }
  return {
    ms: await timedLoad(contender.readStream, streamId, sizes),
    narrowMs: contender.readStreamNarrow
      ? await timedLoad(contender.readStreamNarrow, streamId, sizes)
      : undefined,
  };
}

/** One warm-up load, then one timed load of the W3 stream. */
async function timedLoad(load, streamId, sizes) {
  await load(streamId); // warm the connection and caches
  const started = performance.now();
  const count = await load(streamId);
  const ms = performance.now() - started;
  if (count !== sizes.w3StreamSize) throw new Error(`W3 loaded ${count} of ${sizes.w3StreamSize} events`);
  return ms;
}

/** Tops the log up to `logSize` with 4 concurrent writers of 1,000-event appends (untimed). */
async function topUp(contender, sizes, ledger) {
  let missing = sizes.logSize - ledger.total;
  let next = 0;
  const writer = async () => {
    while (missing > 0) {
      const size = Math.min(1_000, missing);
      missing -= size;
      const streamId = `w4-${next++}`;
      await contender.append(streamId, 0, batchOf(size, 0));
      ledger.add(streamId, size);
    }
  };
  await Promise.all(Array.from({ length: 4 }, writer));
}

/**
 * W4: read the whole global log from position 0 in batches. First (untimed) waits until the
 * contender shows every acknowledged event, for a store that hides events while an older
 * transaction of the cluster is still running; the wait is reported.
 */
async function w4(contender, sizes) {
  const waitStarted = performance.now();
  await contender.settle?.();
  const visibilityWaitMs = performance.now() - waitStarted;
  let count = 0;
  const started = performance.now();
  await contender.readAll(sizes.readBatchSize, () => {
    count += 1;
  });
  const seconds = (performance.now() - started) / 1000;
  let narrowEventsPerSec;
  if (contender.readAllNarrow) {
    let narrow = 0;
    const narrowStarted = performance.now();
    await contender.readAllNarrow(sizes.readBatchSize, () => {
      narrow += 1;
    });
    narrowEventsPerSec = narrow / ((performance.now() - narrowStarted) / 1000);
  }
  return { eventsPerSec: count / seconds, count, visibilityWaitMs, narrowEventsPerSec };
}

/** Reads the log again (untimed) and checks that every acknowledged event appears exactly once. */
async function exactlyOnce(contender, sizes, ledger) {
  const seen = new Map();
  let duplicates = 0;
  await contender.readAll(sizes.readBatchSize, (streamId, version) => {
    const key = `${streamId}\u0000${version}`;
    if (seen.has(key)) duplicates += 1;
    seen.set(key, true);
  });
  let missing = 0;
  for (const [streamId, count] of ledger.streams) {
    for (let version = 1; version <= count; version++) {
      if (!seen.has(`${streamId}\u0000${version}`)) missing += 1;
    }
  }
  return { expected: ledger.total, duplicates, missing };
}

/** The workloads `--workloads` can name: w1 (its three variants), w1x1, w1x8, w1x64, w2, w3, w4. */
export const WORKLOADS = ['w1x1', 'w1x8', 'w1x64', 'w2', 'w3', 'w4'];

/** Expands a `--workloads` list (e.g. "w1,w2") to the names of {@link WORKLOADS}; refuses others. */
export function selectWorkloads(list) {
  if (!list) return new Set(WORKLOADS);
  const selected = new Set();
  for (const name of list.split(',').map((item) => item.trim().toLowerCase())) {
    if (name === 'w1') for (const variant of ['w1x1', 'w1x8', 'w1x64']) selected.add(variant);
    else if (WORKLOADS.includes(name)) selected.add(name);
    else throw new Error(`unknown workload "${name}" (known: w1, ${WORKLOADS.join(', ')})`);
  }
  return selected;
}

/**
 * Runs the selected workloads (default all of W1-W4) and the exactly-once check against one
 * contender. Without W4 the log is not topped up, and the check covers what the others wrote.
 */
export async function runWorkloads(contender, sizes = DEFAULT_SIZES, selected = new Set(WORKLOADS)) {
  const ledger = new Ledger();
  const solo = selected.has('w1x1')
    ? await w1(contender, ledger, {
        prefix: 'w1x1',
        writers: 1,
        streams: sizes.w1SoloStreams,
        events: sizes.w1SoloEvents,
      })
    : undefined;
  const eight = selected.has('w1x8')
    ? await w1(contender, ledger, {
        prefix: 'w1',
        writers: sizes.w1Writers,
        streams: sizes.w1Streams,
        events: sizes.w1Events,
      })
    : undefined;
  const many = selected.has('w1x64')
    ? await w1(contender, ledger, {
        prefix: 'w1x64',
        writers: sizes.w1ManyWriters,
        streams: sizes.w1ManyStreams,
        events: sizes.w1ManyEvents,
      })
    : undefined;
  const w2EventsPerSec = selected.has('w2') ? await w2(contender, sizes, ledger) : undefined;
  const w3 = selected.has('w3') ? await w3Load(contender, sizes, ledger) : undefined;
  let read;
  if (selected.has('w4')) {
    await topUp(contender, sizes, ledger);
    read = await w4(contender, sizes);
  } else {
    await contender.settle?.();
  }
  const check = await exactlyOnce(contender, sizes, ledger);
  return {
    w1x1EventsPerSec: solo?.eventsPerSec,
    w1x1P99Ms: solo?.p99Ms,
    w1EventsPerSec: eight?.eventsPerSec,
    w1P50Ms: eight?.p50Ms,
    w1P99Ms: eight?.p99Ms,
    w1x64EventsPerSec: many?.eventsPerSec,
    w1x64P50Ms: many?.p50Ms,
    w1x64P99Ms: many?.p99Ms,
    w2EventsPerSec,
    w3Ms: w3?.ms,
    w3NarrowMs: w3?.narrowMs,
    w4EventsPerSec: read?.eventsPerSec,
    w4NarrowEventsPerSec: read?.narrowEventsPerSec,
    w4Count: read?.count,
    visibilityWaitMs: read?.visibilityWaitMs,
    check,
  };
}
