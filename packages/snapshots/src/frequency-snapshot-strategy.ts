import type { SnapshotDecision, SnapshotStrategy } from '@es/core';
import { assertEventCount } from './arguments.js';

/**
 * Takes a snapshot once `everyEvents` events have been committed since the last snapshot (or since
 * the stream began, when there is none). Counting events since the snapshot, rather than testing
 * `version % everyEvents`, means a save that commits several events at once never skips past the
 * threshold.
 *
 * @example
 * const strategy = new FrequencySnapshotStrategy(100); // a snapshot at most every 100 events
 */
export class FrequencySnapshotStrategy implements SnapshotStrategy<unknown> {
  /** @param everyEvents Events between snapshots: a positive integer. */
  constructor(readonly everyEvents: number) {
    assertEventCount(everyEvents, 'everyEvents');
  }

  shouldSnapshot(decision: SnapshotDecision<unknown>): boolean {
    return decision.eventsSinceSnapshot >= this.everyEvents;
  }
}
