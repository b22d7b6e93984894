import type { SnapshotDecision, SnapshotStrategy } from '@es/core';
import { assertDuration, assertEventCount } from './arguments.js';

/**
 * Takes a snapshot after `everyEvents` events or `intervalMs` milliseconds since the last snapshot,
 * whichever comes first (time counts only when events were committed since). Before an aggregate's
 * first snapshot there is no time to count from, so only the event count applies: an aggregate
 * with a handful of events is never snapshotted just because it is new.
 *
 * @example
 * // every 100 events, and at least hourly for an aggregate that keeps changing slowly
 * const strategy = new HybridSnapshotStrategy(100, 60 * 60 * 1000);
 */
export class HybridSnapshotStrategy implements SnapshotStrategy<unknown> {
  /**
   * @param everyEvents Events between snapshots: a positive integer.
   * @param intervalMs Time after which a changed aggregate is snapshotted anyway, in milliseconds.
   */
  constructor(
    readonly everyEvents: number,
    readonly intervalMs: number,
  ) {
    assertEventCount(everyEvents, 'everyEvents');
    assertDuration(intervalMs, 'intervalMs');
  }

  shouldSnapshot(decision: SnapshotDecision<unknown>): boolean {
    const { eventsSinceSnapshot, lastSnapshotAt, now } = decision;
    if (eventsSinceSnapshot >= this.everyEvents) return true;
    if (eventsSinceSnapshot === 0 || lastSnapshotAt === undefined) return false;
    return now.getTime() - lastSnapshotAt.getTime() >= this.intervalMs;
  }
}
