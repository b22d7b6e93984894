import type { Position } from '../events.js';

/**
 * Remembers how far each subscription or projection has read the global log, so a restarted one
 * resumes after the last position it handled. Implemented in memory (`InMemoryCheckpointStore`), on PostgreSQL
 * and on MongoDB. A checkpoint stored apart from the read model gives at-least-once delivery: after
 * a crash between the handler's writes and `save`, the last batch is handled again.
 */
export interface CheckpointStore {
  /** The last position `subscriptionId` handled, or `undefined` when it has not started. */
  load(subscriptionId: string): Promise<Position | undefined>;
  /** Records that `subscriptionId` has handled everything up to and including `position`. */
  save(subscriptionId: string, position: Position): Promise<void>;
  /** Forgets the checkpoint, so the subscription starts again from the beginning of the log. */
  reset(subscriptionId: string): Promise<void>;
  /**
   * Compare-and-set: stores `position` only if the checkpoint is still `expected` (`undefined` = no
   * checkpoint yet), atomically, and says whether it did. A follower that lost its lease to another
   * instance finds `false` here instead of moving the checkpoint backwards. Optional: a store without
   * it is used through `save`.
   */
  saveIf?(subscriptionId: string, expected: Position | undefined, position: Position): Promise<boolean>;
}
