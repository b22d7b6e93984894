import type { EventStore } from '@es/core';
import { EventReplayer, type ReplayProgress } from '@es/replay';
import { BalancesView } from './balances-view.js';
import { type AccountEvent, accountEvents } from './domain/account-events.js';

export interface RebuildOptions {
  /** Events read per round trip, and so per progress report. Defaults to 500. */
  readonly batchSize?: number;
  /** Told before the first batch and after each one. */
  readonly onProgress?: (progress: ReplayProgress) => void;
}

/**
 * Rebuilds the balances read model from nothing by replaying every account event in the log:
 * the spec's `ReplayWithProgress`. The store filters by event type, and memory holds one batch.
 */
export async function rebuildBalances(
  eventStore: EventStore,
  options: RebuildOptions = {},
): Promise<BalancesView> {
  const view = new BalancesView();
  const replayer = new EventReplayer(eventStore);
  await replayer.replayWithProgress<AccountEvent>(
    (event) => view.handle(event),
    0n,
    { batchSize: options.batchSize ?? 500, eventTypes: accountEvents.types },
    options.onProgress ?? (() => {}),
  );
  return view;
}
