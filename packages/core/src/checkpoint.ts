import type { Position } from './events.js';

/**
 * Remembers how far each subscription or projection has read the global log, so a restarted one
 * resumes after the last position it handled. Implemented in memory (@es/replay), on PostgreSQL
 * and on MongoDB.
 */
export interface CheckpointStore {
  /** The last position `subscriptionId` handled, or `undefined` when it has not started. */
  load(subscriptionId: string): Promise<Position | undefined>;
  /** Records that `subscriptionId` has handled everything up to and including `position`. */
  save(subscriptionId: string, position: Position): Promise<void>;
  /** Forgets the checkpoint, so the subscription starts again from the beginning of the log. */
  reset(subscriptionId: string): Promise<void>;
}
