// BENCH_GROUPS_TRACE=1: each worker times its log reads and batch commits and watches its event
// loop, and prints a one-line summary to stderr when it stops (to find where latency goes).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { percentile } from './table.mjs';

export function traceWorker(workerId, eventStore, readModel) {
  const reads = [];
  const commits = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const getAllEvents = eventStore.getAllEvents.bind(eventStore);
  eventStore.getAllEvents = async function* (...args) {
    const started = performance.now();
    let count = 0;
    try {
      for await (const event of getAllEvents(...args)) {
        count++;
        yield event;
      }
    } finally {
      reads.push({ ms: performance.now() - started, count });
    }
  };
  const commitBatch = readModel.commitBatch.bind(readModel);
  readModel.commitBatch = async (...args) => {
    const started = performance.now();
    try {
      return await commitBatch(...args);
    } finally {
      commits.push(performance.now() - started);
    }
  };
  return () => {
    const ms = (values, p) => `${percentile(values, p).toFixed(1)}`;
    const readMs = reads.map((r) => r.ms);
    process.stderr.write(
      `[trace ${workerId}] reads ${reads.length} (empty ${reads.filter((r) => r.count === 0).length}, ` +
        `${(reads.reduce((s, r) => s + r.count, 0) / Math.max(1, reads.length)).toFixed(1)} events each) ` +
        `p50/p99/max ${ms(readMs, 50)}/${ms(readMs, 99)}/${Math.max(0, ...readMs).toFixed(1)} ms; ` +
        `commits ${commits.length} p50/p99/max ${ms(commits, 50)}/${ms(commits, 99)}/${Math.max(0, ...commits).toFixed(1)} ms; ` +
        `event-loop delay p50/p99/max ${(loop.percentile(50) / 1e6).toFixed(1)}/${(loop.percentile(99) / 1e6).toFixed(1)}/${(loop.max / 1e6).toFixed(1)} ms\n`,
    );
  };
}
