import type { Snapshot, SnapshotStore } from '@es/core';
import { assertStreamId, assertValidSnapshot } from '@es/core/adapter';

/**
 * A {@link SnapshotStore} in process memory, for tests and development. It keeps the snapshot with
 * the highest `aggregateVersion` of each stream (an older save is ignored), and stores and returns
 * copies, so nobody can change a stored snapshot by mutating an object. Passes
 * `describeSnapshotStoreContract`.
 *
 * @example
 * const snapshots = new InMemorySnapshotStore();
 * const repository = new EventSourcingBuilder()
 *   .withEventStore(new InMemoryEventStore())
 *   .withSnapshotStore(snapshots)
 *   .withSnapshotStrategy(new FrequencySnapshotStrategy(100))
 *   .build((id) => new BankAccount(id));
 */
export class InMemorySnapshotStore implements SnapshotStore {
  readonly #snapshots = new Map<string, Snapshot>();

  async save(snapshot: Snapshot): Promise<void> {
    assertValidSnapshot(snapshot);
    const stored = this.#snapshots.get(snapshot.streamId);
    if (stored && stored.aggregateVersion > snapshot.aggregateVersion) return;
    this.#snapshots.set(snapshot.streamId, copy(snapshot));
  }

  async load(streamId: string): Promise<Snapshot | undefined> {
    assertStreamId(streamId);
    const stored = this.#snapshots.get(streamId);
    return stored && copy(stored);
  }

  async delete(streamId: string): Promise<void> {
    assertStreamId(streamId);
    this.#snapshots.delete(streamId);
  }

  /** How many streams have a snapshot. */
  get size(): number {
    return this.#snapshots.size;
  }

  /** Removes every snapshot. */
  clear(): void {
    this.#snapshots.clear();
  }
}

// A JSON copy (the state is plain JSON): unlike structuredClone, it creates objects of the caller's
// realm, which matters under jest's vm contexts.
function copy(snapshot: Snapshot): Snapshot {
  return {
    streamId: snapshot.streamId,
    aggregateVersion: snapshot.aggregateVersion,
    snapshotVersion: snapshot.snapshotVersion,
    state: JSON.parse(JSON.stringify(snapshot.state)),
    createdAt: new Date(snapshot.createdAt.getTime()),
  };
}
