import { types } from 'node:util';
import { InvalidArgumentError } from './errors.js';
import type { Snapshot } from './snapshot.js';
import {
  assertJsonSerializable,
  assertPositiveInteger,
  assertStreamId,
  MAX_SCHEMA_VERSION,
} from './validation.js';

// Versions are stored as 32-bit integers by some stores (PostgreSQL `integer` columns); every store
// refuses the same snapshots, so the limit holds everywhere.
const MAX_SNAPSHOT_NUMBER = MAX_SCHEMA_VERSION;

/**
 * Checks a snapshot before a store saves it, as every adapter must: a valid stream id,
 * `aggregateVersion` and `snapshotVersion` positive integers of at most 2^31 - 1, a valid
 * `createdAt` date, and plain-JSON `state` (`null` allowed, `undefined` not). Throws
 * `InvalidArgumentError`, or `EventSerializationError` for the state.
 *
 * @example
 * async save(snapshot: Snapshot): Promise<void> {
 *   assertValidSnapshot(snapshot);
 *   // ...store it
 * }
 */
export function assertValidSnapshot(snapshot: Snapshot): void {
  if (snapshot === null || typeof snapshot !== 'object') {
    throw new InvalidArgumentError('snapshot', 'expected a snapshot object.');
  }
  assertStreamId(snapshot.streamId, 'snapshot.streamId');
  for (const field of ['aggregateVersion', 'snapshotVersion'] as const) {
    assertPositiveInteger(snapshot[field], `snapshot.${field}`);
    if (snapshot[field] > MAX_SNAPSHOT_NUMBER) {
      throw new InvalidArgumentError(`snapshot.${field}`, `must be at most ${MAX_SNAPSHOT_NUMBER}.`);
    }
  }
  if (!types.isDate(snapshot.createdAt) || Number.isNaN(snapshot.createdAt.getTime())) {
    throw new InvalidArgumentError('snapshot.createdAt', 'expected a valid Date.');
  }
  if (snapshot.state === undefined) {
    throw new InvalidArgumentError('snapshot.state', 'a snapshot needs a state (null is allowed).');
  }
  assertJsonSerializable(snapshot.state, 'the snapshot state');
}
