import type { EventStore, Position } from '@es/core';
import { EventReplayer, type ReplayProgress } from '@es/replay';
import { BalancesView } from './balances-view.js';
import { type AccountEvent, accountEvents } from './domain/account-events.js';

export interface RebuildOptions {
  /** Events read per round trip, and so per progress report. Defaults to 500. */
  readonly batchSize?: number;
  /** Told before the first batch and after each one. */
  readonly onProgress?: (progress: ReplayProgress) => void;
  /**
   * Rebuild until the view has seen the event at this position (say, the last one this process
   * wrote). On PostgreSQL the global log shows an event only once every older transaction in the
   * database has ended, so that no follower ever skips one; a replay started while another
   * transaction is open may stop short, and is run again. Defaults to whatever the log shows now.
   */
  readonly until?: Position;
  /** Told before each new attempt when the log did not yet reach `until`. */
  readonly onWait?: (reachedPosition: Position) => void;
  /** Give up waiting for `until` after this long. Defaults to 30,000 ms. */
  readonly timeoutMs?: number;
}

/**
 * Rebuilds the balances read model from nothing by replaying every account event in the log:
 * the spec's `ReplayWithProgress`. The store filters by event type, and memory holds one batch.
 */
export async function rebuildBalances(
  eventStore: EventStore,
  options: RebuildOptions = {},
): Promise<BalancesView> {
  const replayer = new EventReplayer(eventStore);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const view = new BalancesView();
    const result = await replayer.replayWithProgress<AccountEvent>(
      (event) => view.handle(event),
      0n,
      { batchSize: options.batchSize ?? 500, eventTypes: accountEvents.types },
      options.onProgress ?? (() => {}),
    );
    if (options.until === undefined || result.lastPosition >= options.until) return view;
    if (Date.now() > deadline) {
      throw new Error(
        `The log still ends before position ${options.until}: a transaction in the database has stayed open ` +
          `for over ${options.timeoutMs ?? 30_000} ms. Find it in pg_stat_activity.`,
      );
    }
    options.onWait?.(result.lastPosition);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
