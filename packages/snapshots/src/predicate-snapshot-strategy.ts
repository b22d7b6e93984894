import { InvalidArgumentError, type SnapshotDecision, type SnapshotStrategy } from '@es/core';

/** Decides from what the repository knows after a save; see {@link PredicateSnapshotStrategy}. */
export type SnapshotPredicate<TAggregate> = (decision: SnapshotDecision<TAggregate>) => boolean;

/**
 * A strategy written as a function of the decision: the aggregate (typed), its version, the version
 * and time of the last snapshot, and the events since. Keep it fast and free of I/O; if it throws,
 * the repository reports the error through its `onError` hook and skips the snapshot.
 *
 * @example
 * // snapshot a closed account once, and busy ones every 500 events
 * const strategy = new PredicateSnapshotStrategy<BankAccount>(
 *   ({ aggregate, eventsSinceSnapshot }) => aggregate.isClosed || eventsSinceSnapshot >= 500,
 * );
 */
export class PredicateSnapshotStrategy<TAggregate = unknown> implements SnapshotStrategy<TAggregate> {
  readonly #predicate: SnapshotPredicate<TAggregate>;

  constructor(predicate: SnapshotPredicate<TAggregate>) {
    if (typeof predicate !== 'function') {
      throw new InvalidArgumentError('predicate', 'expected a function (decision) => boolean.');
    }
    this.#predicate = predicate;
  }

  shouldSnapshot(decision: SnapshotDecision<TAggregate>): boolean {
    return this.#predicate(decision) === true;
  }
}
