// Samples RSS and heap every few milliseconds while a run goes on, to show that memory stays flat.

export function startMemorySampler(everyMs = 25) {
  const samples = [];
  const take = () => {
    const { rss, heapUsed } = process.memoryUsage();
    samples.push({ at: performance.now(), rss, heapUsed });
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return summarise(samples);
    },
  };
}

const mb = (bytes) => bytes / 1024 / 1024;

function summarise(samples) {
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const peak = (list, key) => Math.max(...list.map((s) => s[key]));
  return {
    samples: samples.length,
    startRssMb: mb(samples[0].rss),
    peakRssMb: mb(peak(samples, 'rss')),
    peakHeapMb: mb(peak(samples, 'heapUsed')),
    // Flat memory: the heap peak of the last quarter of the run is no higher than the first's.
    firstQuarterPeakHeapMb: mb(peak(samples.slice(0, quarter), 'heapUsed')),
    lastQuarterPeakHeapMb: mb(peak(samples.slice(-quarter), 'heapUsed')),
  };
}
