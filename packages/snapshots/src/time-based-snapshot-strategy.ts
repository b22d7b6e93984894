import type { SnapshotDecision, SnapshotStrategy } from '@es/core';
import { assertDuration, elapsedMs } from './arguments.js';

/**
 * Takes a snapshot when at least `intervalMs` milliseconds have passed since the last one and
 * events were committed since. An aggregate without a snapshot gets one at its first save, so its
 * age is counted from then. Use it to bound how stale a snapshot can get for aggregates that change
 * steadily; prefer {@link HybridSnapshotStrategy} when many aggregates see only a few events.
 *
 * @example
 * const strategy = new TimeBasedSnapshotStrategy(60 * 60 * 1000); // at most one snapshot an hour
 */
export class TimeBasedSnapshotStrategy implements SnapshotStrategy<unknown> {
  /** @param intervalMs Minimum time between snapshots, in milliseconds. */
  constructor(readonly intervalMs: number) {
    assertDuration(intervalMs, 'intervalMs');
  }

  shouldSnapshot(decision: SnapshotDecision<unknown>): boolean {
    return (
      decision.eventsSinceSnapshot > 0 && elapsedMs(decision.lastSnapshotAt, decision.now) >= this.intervalMs
    );
  }
}
