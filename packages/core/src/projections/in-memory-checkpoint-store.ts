import type { Position } from '../events.js';
import { assertPosition, assertStreamId } from '../validation.js';
import type { CheckpointStore } from './checkpoint-store.js';

/**
 * Checkpoints in process memory, for tests and single-process development. Lost when the process
 * ends, so a projection using it starts from the beginning of the log after a restart.
 *
 * @example
 * const projection = new Projection({ name: 'balances', eventStore, handler, checkpoints: new InMemoryCheckpointStore() });
 */
export class InMemoryCheckpointStore implements CheckpointStore {
  readonly #positions = new Map<string, Position>();

  async load(subscriptionId: string): Promise<Position | undefined> {
    assertStreamId(subscriptionId, 'subscription id');
    return this.#positions.get(subscriptionId);
  }

  async save(subscriptionId: string, position: Position): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    this.#positions.set(subscriptionId, position);
  }

  async saveIf(subscriptionId: string, expected: Position | undefined, position: Position): Promise<boolean> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    if (this.#positions.get(subscriptionId) !== expected) return false;
    this.#positions.set(subscriptionId, position);
    return true;
  }

  async reset(subscriptionId: string): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    this.#positions.delete(subscriptionId);
  }
}
