// Medians, ratios and the summary table.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const metrics = [
  { key: 'w1x1EventsPerSec', label: 'W1 1 writer x 1-event appends', unit: 'ev/s', higherIsBetter: true },
  { key: 'w1x1P99Ms', label: 'W1 1 writer: p99 append latency', unit: 'ms', higherIsBetter: false },
  {
    key: 'w1EventsPerSec',
    label: 'W1 8 writers x 1-event appends, 1,000 streams',
    unit: 'ev/s',
    higherIsBetter: true,
  },
  { key: 'w1P99Ms', label: 'W1 8 writers: p99 append latency', unit: 'ms', higherIsBetter: false },
  {
    key: 'w1x64EventsPerSec',
    label: 'W1 64 writers x 1-event appends, 1,024 streams',
    unit: 'ev/s',
    higherIsBetter: true,
  },
  { key: 'w1x64P99Ms', label: 'W1 64 writers: p99 append latency', unit: 'ms', higherIsBetter: false },
  { key: 'w2EventsPerSec', label: 'W2 4 writers x 100-event appends', unit: 'ev/s', higherIsBetter: true },
  { key: 'w3Ms', label: 'W3 load a 10,000-event stream', unit: 'ms', higherIsBetter: false },
  { key: 'w3NarrowMs', label: 'W3 narrow reader (version, type, data)', unit: 'ms', higherIsBetter: false },
  { key: 'w4EventsPerSec', label: 'W4 read a 100,000-event global log', unit: 'ev/s', higherIsBetter: true },
  {
    key: 'w4NarrowEventsPerSec',
    label: 'W4 narrow reader (version, type, data)',
    unit: 'ev/s',
    higherIsBetter: true,
  },
];

const format = (value, unit) =>
  unit === 'ms'
    ? `${value.toFixed(value < 10 ? 2 : 1)} ms`
    : `${Math.round(value).toLocaleString('en-US')} ${unit}`;

/**
 * One row per workload, one column per contender: median and speed relative to `baseline`
 * (> 1 is faster than the baseline; for W3 the ratio is baseline time / contender time).
 */
export function renderTable(results, baseline) {
  const names = [...results.keys()];
  const title = (name) => results.get(name)[0].name;
  const header = `| workload | ${names.map((name) => `${title(name)} (median)`).join(' | ')} |`;
  const rule = `|---|${names.map(() => '---').join('|')}|`;
  const valuesOf = (name, key) =>
    results
      .get(name)
      .map((r) => r[key])
      .filter((v) => typeof v === 'number');
  const shown = metrics.filter((metric) => names.some((name) => valuesOf(name, metric.key).length > 0));
  const rows = shown.map((metric) => {
    // Metrics only some contenders have (the narrow readers of raw) are shown where present; the
    // ratio is to the baseline's own figure when it has one.
    const baseValues = valuesOf(baseline, metric.key);
    const base = baseValues.length ? median(baseValues) : undefined;
    const cells = names.map((name) => {
      const values = valuesOf(name, metric.key);
      if (values.length === 0) return '-';
      const value = median(values);
      if (base === undefined) return format(value, metric.unit);
      const ratio = metric.higherIsBetter ? value / base : base / value;
      return `${format(value, metric.unit)} (${ratio.toFixed(2)}x)`;
    });
    return `| ${metric.label} | ${cells.join(' | ')} |`;
  });
  const checks = names.map((name) => {
    const runs = results.get(name);
    const bad = runs.filter((r) => r.check.duplicates > 0 || r.check.missing > 0);
    const worst = bad.length
      ? `; worst run: ${Math.max(...bad.map((r) => r.check.duplicates))} duplicated, ${Math.max(...bad.map((r) => r.check.missing))} missing`
      : '';
    return `${runs.length - bad.length}/${runs.length} runs exact${worst}`;
  });
  const checkRow = `| global log read exactly once (after concurrent writes) | ${checks.join(' | ')} |`;
  return [header, rule, ...rows, checkRow].join('\n');
}
