import { Presets, SingleBar } from 'cli-progress';
import { duration } from './format.js';

/** Shows how far long work is: a live bar on a terminal, a plain line now and then elsewhere. */
export interface ProgressReporter {
  update(processed: number, total: number): void;
  stop(): void;
}

/**
 * A progress display on `stream` (stderr): with a TTY a cli-progress bar with the rate and ETA;
 * otherwise one plain line at most every `intervalMs` and a last line at the end, so logs stay
 * readable.
 */
export function progressReporter(
  label: string,
  stream: NodeJS.WriteStream,
  options: { intervalMs?: number; forcePlain?: boolean } = {},
): ProgressReporter {
  const started = Date.now();
  const rateOf = (processed: number) => {
    const seconds = (Date.now() - started) / 1000;
    return seconds > 0 ? processed / seconds : 0;
  };
  if (stream.isTTY && !options.forcePlain) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_formatted}`,
        stream,
        hideCursor: true,
        etaBuffer: 50,
        fps: 10,
      },
      Presets.shades_classic,
    );
    let begun = false;
    return {
      update(processed, total) {
        const rate = Math.round(rateOf(processed));
        if (!begun) {
          bar.start(total, processed, { rate });
          begun = true;
        } else {
          bar.setTotal(total);
          bar.update(processed, { rate });
        }
      },
      stop() {
        if (begun) bar.stop();
      },
    };
  }
  const intervalMs = options.intervalMs ?? 2000;
  let lastLine = 0;
  let last: { processed: number; total: number } | undefined;
  const line = (processed: number, total: number) => {
    const rate = rateOf(processed);
    const percent = total > 0 ? Math.floor((processed / total) * 100) : 100;
    const eta = rate > 0 ? duration((total - processed) / rate) : '?';
    stream.write(
      `${label}: ${processed}/${total} events (${percent}%), ${Math.round(rate)} events/s, ETA ${eta}\n`,
    );
  };
  return {
    update(processed, total) {
      last = { processed, total };
      const now = Date.now();
      if (lastLine === 0 || now - lastLine >= intervalMs) {
        lastLine = now;
        line(processed, total);
      }
    },
    stop() {
      if (last) line(last.processed, last.total);
    },
  };
}
