import { types } from 'node:util';
import {
  assertJsonSerializable,
  assertPositiveInteger,
  assertStreamId,
  InvalidArgumentError,
  type Snapshot,
} from '@es/core';

/**
 * Checks a snapshot before a store saves it, as every adapter must: a valid stream id, positive
 * integer `aggregateVersion` and `snapshotVersion`, a valid `createdAt` date, and plain-JSON `state`.
 * Throws `InvalidArgumentError`, or `EventSerializationError` for the state. For adapter authors.
 */
export function assertValidSnapshot(snapshot: Snapshot): void {
  if (snapshot === null || typeof snapshot !== 'object') {
    throw new InvalidArgumentError('snapshot', 'expected a snapshot object.');
  }
  assertStreamId(snapshot.streamId, 'snapshot.streamId');
  assertPositiveInteger(snapshot.aggregateVersion, 'snapshot.aggregateVersion');
  assertPositiveInteger(snapshot.snapshotVersion, 'snapshot.snapshotVersion');
  if (!types.isDate(snapshot.createdAt) || Number.isNaN(snapshot.createdAt.getTime())) {
    throw new InvalidArgumentError('snapshot.createdAt', 'expected a valid Date.');
  }
  if (snapshot.state === undefined) {
    throw new InvalidArgumentError('snapshot.state', 'a snapshot needs a state (null is allowed).');
  }
  assertJsonSerializable(snapshot.state, 'the snapshot state');
}
