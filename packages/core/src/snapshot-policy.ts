// The repository's snapshot policy: its options, their defaults and checks, when a snapshot is
// wanted, and which stored snapshots are usable. The repository does the reading and writing.

import type { EventSourcedAggregate } from './aggregate.js';
import { InvalidArgumentError } from './errors.js';
import type { DomainEvent } from './events.js';
import {
  plainJsonSnapshotSerializer,
  type Snapshot,
  type SnapshotDecision,
  type SnapshotSerializer,
  type SnapshotStore,
  type SnapshotStrategy,
} from './snapshot.js';

/**
 * A snapshot problem, passed to `onError`. `load`: the store failed to load, or returned a snapshot
 * that cannot be used (e.g. ahead of its stream). `restore`: the aggregate could not be restored
 * from it, or failed to apply the events after it. `save`: deciding, serializing or storing a new
 * snapshot failed. In every case the user's operation went on without the snapshot.
 */
export interface SnapshotProblem {
  readonly operation: 'load' | 'save' | 'restore';
  readonly streamId: string;
  readonly error: unknown;
}

/** How the repository uses snapshots. Only `store` and `strategy` are required. */
export interface RepositorySnapshotOptions<T> {
  readonly store: SnapshotStore;
  readonly strategy: SnapshotStrategy<NoInfer<T>>; // T comes from `factory`, never from the strategy
  /** Turns snapshots off without removing the configuration. Defaults to true. */
  readonly enabled?: boolean;
  /**
   * Version of the state's shape. Bump it when the aggregate's state changes shape: snapshots of
   * another version are ignored (the aggregate is rebuilt from events) and replaced by the next
   * `save` of that aggregate, whatever the strategy says. Defaults to 1.
   */
  readonly snapshotVersion?: number;
  /**
   * Defaults to a serializer that requires the state to be plain JSON and copies it. For Date,
   * bigint, Map and Set use `JsonSnapshotSerializer` from `@es/snapshots`.
   */
  readonly serializer?: SnapshotSerializer;
  /**
   * Take snapshots in the background so `save` does not wait for the snapshot store (the state is
   * still captured and serialized before `save` returns). Call `flushSnapshots()` before shutting
   * down. Defaults to false.
   */
  readonly background?: boolean;
  /**
   * Told about every snapshot failure. Snapshots never fail the user's operation: loading falls back
   * to events, saving keeps the committed events. Defaults to `console.warn`.
   */
  readonly onError?: (problem: SnapshotProblem) => void;
}

/** The snapshot options with their defaults filled in. */
export type ResolvedSnapshotOptions<T> = Required<RepositorySnapshotOptions<T>>;

// The snapshot a loaded or saved instance is based on. `stale`: the stored one was unusable, so the
// next save replaces it whatever the strategy says.
export interface SnapshotMark {
  readonly version: number;
  readonly takenAt: Date | undefined;
  readonly stale?: boolean;
}

export const warnOnConsole = (problem: SnapshotProblem) =>
  console.warn(`[@es/core] snapshot ${problem.operation} failed for "${problem.streamId}":`, problem.error);

/**
 * Whether the strategy wants a snapshot of `aggregate` now, given the snapshot it is based on
 * (`mark`; none: version 0). A stale snapshot is always replaced.
 */
export function wantsSnapshot<T extends EventSourcedAggregate<DomainEvent>>(
  aggregate: T,
  mark: SnapshotMark | undefined,
  now: Date,
  strategy: SnapshotStrategy<T>,
): boolean {
  const base = mark ?? { version: 0, takenAt: undefined };
  if (base.stale) return true;
  const decision: SnapshotDecision<T> = {
    aggregate,
    version: aggregate.version,
    lastSnapshotVersion: base.version,
    lastSnapshotAt: base.takenAt,
    eventsSinceSnapshot: aggregate.version - base.version,
    now,
  };
  return strategy.shouldSnapshot(decision) === true;
}

// A snapshot store returning something malformed is a store bug: the snapshot is not used.
export function assertUsableSnapshot(snapshot: Snapshot, streamId: string): void {
  const { aggregateVersion, snapshotVersion } = snapshot;
  const usable =
    snapshot.streamId === streamId &&
    Number.isSafeInteger(aggregateVersion) &&
    aggregateVersion >= 1 &&
    Number.isSafeInteger(snapshotVersion);
  if (usable) return;
  throw new InvalidArgumentError(
    'snapshot',
    `the store returned an unusable snapshot for "${streamId}" (stream "${String(snapshot.streamId)}", ` +
      `aggregateVersion ${String(aggregateVersion)}, snapshotVersion ${String(snapshotVersion)}).`,
  );
}

/** Validates the repository's snapshot options and fills in the defaults; `undefined`: no snapshots. */
export function resolveSnapshotOptions<T>(
  options: RepositorySnapshotOptions<T> | undefined,
): ResolvedSnapshotOptions<T> | undefined {
  if (!options || options.enabled === false) return undefined;
  const { store, strategy, serializer, onError } = options;
  if (!store || typeof store.load !== 'function' || typeof store.save !== 'function') {
    throw new InvalidArgumentError('snapshots.store', 'snapshots need a snapshot store (save/load/delete).');
  }
  if (typeof strategy?.shouldSnapshot !== 'function') {
    throw new InvalidArgumentError('snapshots.strategy', 'snapshots need a strategy with shouldSnapshot().');
  }
  if (
    serializer &&
    (typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function')
  ) {
    throw new InvalidArgumentError(
      'snapshots.serializer',
      'expected serialize() and deserialize() functions.',
    );
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw new InvalidArgumentError('snapshots.onError', 'expected a function (problem) => void.');
  }
  const snapshotVersion = options.snapshotVersion ?? 1;
  if (!Number.isSafeInteger(snapshotVersion) || snapshotVersion < 1) {
    throw new InvalidArgumentError(
      'snapshots.snapshotVersion',
      `expected a positive integer, got ${snapshotVersion}.`,
    );
  }
  return {
    store,
    strategy,
    enabled: true,
    snapshotVersion,
    serializer: serializer ?? plainJsonSnapshotSerializer,
    background: options.background ?? false,
    onError: onError ?? warnOnConsole,
  };
}
