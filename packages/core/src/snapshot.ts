import { EventSerializationError } from './errors.js';
import { assertJsonSerializable } from './validation.js';

/**
 * A stored copy of an aggregate's state, so loading reads only the events after it.
 * `state` is what the repository's `SnapshotSerializer` produced: a JSON-safe value.
 */
export interface Snapshot<TState = unknown> {
  readonly streamId: string;
  /** The stream version the state reflects (at least 1): loading continues with the events after it. */
  readonly aggregateVersion: number;
  /**
   * The shape of `state` (a positive integer the application bumps when the state changes shape).
   * A snapshot of another shape than the code's is ignored, the aggregate is rebuilt from its events
   * and re-snapshotted on its next save.
   */
  readonly snapshotVersion: number;
  readonly state: TState;
  /** When the snapshot was taken, by the repository's clock. Time-based strategies count from it. */
  readonly createdAt: Date;
}

/**
 * Persists the latest snapshot of each stream. Every adapter passes `describeSnapshotStoreContract`
 * from `@es/testing`; in short:
 *
 * - `save` keeps one snapshot per stream: one whose `aggregateVersion` is lower than the stored
 *   one's is ignored (a late background save never replaces a newer snapshot), an equal or higher
 *   one replaces it (so a re-shaped snapshot at the same version replaces a stale one). The
 *   comparison is atomic even under concurrent saves.
 * - `state` must be plain JSON (see `assertJsonSerializable`); it comes back equal, as a copy.
 * - Invalid input (stream id, versions, date) is refused with `InvalidArgumentError`, state that is
 *   not JSON with `EventSerializationError`.
 */
export interface SnapshotStore {
  save(snapshot: Snapshot): Promise<void>;
  /** The latest snapshot of the stream, or `undefined`. */
  load(streamId: string): Promise<Snapshot | undefined>;
  /** Removes the stream's snapshot; a stream without one is not an error. */
  delete(streamId: string): Promise<void>;
}

/** What a snapshot strategy sees when the repository has just committed events. */
export interface SnapshotDecision<TAggregate = unknown> {
  readonly aggregate: TAggregate;
  /** The aggregate's version after the commit. */
  readonly version: number;
  /** The version of the last snapshot taken or loaded; 0 when there is none. */
  readonly lastSnapshotVersion: number;
  /** When that snapshot was taken; `undefined` when there is none. */
  readonly lastSnapshotAt: Date | undefined;
  /** `version - lastSnapshotVersion`. */
  readonly eventsSinceSnapshot: number;
  readonly now: Date;
}

/**
 * Decides when the repository takes a snapshot; asked after every successful save. See
 * `@es/snapshots` for ready-made strategies (frequency, time-based, hybrid, custom predicate).
 * It must be fast and synchronous; if it throws, the error is reported like a failed snapshot.
 */
export interface SnapshotStrategy<TAggregate = unknown> {
  shouldSnapshot(decision: SnapshotDecision<TAggregate>): boolean;
}

/**
 * Converts an aggregate's snapshot state to a JSON-safe value and back. `@es/snapshots` has a JSON
 * serializer that round-trips Date, bigint, Map and Set. `serialize` runs synchronously when the
 * snapshot is taken, so the value it returns must not share mutable parts with the live aggregate.
 */
export interface SnapshotSerializer {
  serialize(state: unknown): unknown;
  deserialize(value: unknown): unknown;
}

/** An aggregate that can hand out its state and restore it: required for snapshots. */
export interface SnapshotCapable<TState = unknown> {
  createSnapshot(): TState;
  restoreSnapshot(state: TState): void;
}

/**
 * The repository's default serializer (internal, not exported from the package): requires the state
 * to be plain JSON and copies it, so the snapshot shares nothing with the live aggregate.
 */
export const plainJsonSnapshotSerializer: SnapshotSerializer = {
  serialize(state) {
    try {
      assertJsonSerializable(state, 'the snapshot state');
    } catch (error) {
      throw new EventSerializationError(
        `${(error as Error).message} For Date, bigint, Map and Set, configure JsonSnapshotSerializer from @es/snapshots.`,
        undefined,
        { cause: error },
      );
    }
    return JSON.parse(JSON.stringify(state ?? null));
  },
  deserialize: (value) => value,
};
