/**
 * A stored copy of an aggregate's state, so loading reads only the events after it.
 * `state` is what the repository's `SnapshotSerializer` produced: a JSON-safe value.
 */
export interface Snapshot<TState = unknown> {
  readonly streamId: string;
  /** The stream version the state reflects: loading continues with the events after it. */
  readonly aggregateVersion: number;
  /** The shape of `state`. A snapshot of another shape than the code's is ignored and rebuilt. */
  readonly snapshotVersion: number;
  readonly state: TState;
  readonly createdAt: Date;
}

/**
 * Persists the latest snapshot of each stream. Implementations keep the snapshot with the highest
 * `aggregateVersion`: a late, older save never replaces a newer one.
 */
export interface SnapshotStore {
  save(snapshot: Snapshot): Promise<void>;
  /** The latest snapshot of the stream, or `undefined`. */
  load(streamId: string): Promise<Snapshot | undefined>;
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

/** Decides when the repository takes a snapshot. See @es/snapshots for ready-made strategies. */
export interface SnapshotStrategy<TAggregate = unknown> {
  shouldSnapshot(decision: SnapshotDecision<TAggregate>): boolean;
}

/** Converts an aggregate's snapshot state to a JSON-safe value and back. */
export interface SnapshotSerializer {
  serialize(state: unknown): unknown;
  deserialize(value: unknown): unknown;
}

/** An aggregate that can hand out its state and restore it: required for snapshots. */
export interface SnapshotCapable<TState = unknown> {
  createSnapshot(): TState;
  restoreSnapshot(state: TState): void;
}
