import type { EventStore } from '@es/core';
import { BalancesView } from './balances-view.js';
import { type AccountEvent, accountEvents } from './domain/account-events.js';

/** How far a rebuild has got. */
export interface RebuildProgress {
  readonly processed: number;
  readonly total: number;
  readonly position: bigint;
  readonly elapsedMs: number;
}

/**
 * Rebuilds the balances read model from scratch by replaying every account event in the log,
 * reporting progress as it goes.
 * TEMPORARY: reads the log directly until @es/replay's EventReplayer lands.
 */
export async function rebuildBalances(
  eventStore: EventStore,
  onProgress: (progress: RebuildProgress) => void = () => {},
): Promise<BalancesView> {
  const view = new BalancesView();
  const started = Date.now();
  let processed = 0;
  for await (const event of eventStore.getAllEvents<AccountEvent>(0n, { eventTypes: accountEvents.types })) {
    view.handle(event);
    processed++;
    onProgress({ processed, total: processed, position: event.position, elapsedMs: Date.now() - started });
  }
  return view;
}
