// Append-to-handler latency: the time from just before appendEvents until the follower's handler
// holds the event, for a live Projection (LISTEN/NOTIFY) and for plain keyset-SELECT pollers.
import { ExpectedVersion } from '@es/core';
import { Projection } from '@es/replay';
import { PostgresCheckpointStore } from '@es/store-postgres';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a follower from the current head; `onEvent(data)` is called per delivered event. */
export const LATENCY_CONTENDERS = {
  'keyset SELECT poll 100 ms (baseline)': (context, onEvent) => poller(context, 100, onEvent),
  'keyset SELECT poll 10 ms': (context, onEvent) => poller(context, 10, onEvent),
  'Projection (LISTEN/NOTIFY)': async ({ pool, store, schema, head }, onEvent) => {
    const checkpoints = new PostgresCheckpointStore({ connection: pool, schema });
    const name = `latency-${Date.now()}-${Math.random()}`;
    await checkpoints.save(name, head);
    const projection = new Projection({
      name,
      eventStore: store,
      checkpoints,
      handler: (event) => onEvent(event.data),
    });
    projection.start();
    await projection.waitForIdle();
    return async () => {
      await projection.stop();
      await checkpoints.reset(name);
    };
  },
};

async function poller({ pool, schema, head }, intervalMs, onEvent) {
  let cursor = head.toString();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await pool.query({
        text: `SELECT position, data FROM "${schema}".events WHERE position > $1 ORDER BY position LIMIT 1000`,
        values: [cursor],
      });
      for (const row of rows) onEvent(row.data);
      if (rows.length > 0) cursor = rows[rows.length - 1].position;
      await sleep(intervalMs);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/**
 * Samples, every 50 ms, the age of the oldest transaction in the cluster that holds a transaction
 * id (it holds back the visible bound of a gap-free reader). Returns a function that stops it and
 * returns the largest age seen, in ms.
 */
function watchOldestWriter(pool) {
  let worst = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await pool.query(
        `SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)) * 1000, 0) AS ms
         FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()`,
      );
      worst = Math.max(worst, Number(rows[0].ms));
      await sleep(50);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return worst;
  };
}

/**
 * Appends `count` events one by one (a few ms apart); returns the latencies in ms and the age of
 * the oldest writing transaction seen meanwhile.
 */
export async function measureLatency(contender, context, count, streamId) {
  const latencies = [];
  const stopWatching = watchOldestWriter(context.pool);
  const stop = await LATENCY_CONTENDERS[contender](context, (data) => {
    if (data.streamId === streamId) latencies.push(now() - data.sentAt);
  });
  for (let i = 0; i < count; i++) {
    const expected = i === 0 ? ExpectedVersion.NoStream : i;
    await context.store.appendEvents(streamId, expected, [
      { type: 'Pinged', data: { streamId, sentAt: now(), amount: 0 } },
    ]);
    await sleep(3 + Math.random() * 7);
  }
  const deadline = Date.now() + 10_000;
  while (latencies.length < count && Date.now() < deadline) await sleep(5);
  await stop();
  return { latencies, oldestWriterMs: await stopWatching() };
}
