import { EventSerializationError, type Snapshot } from '@es/core';
import type { Int32, Long } from 'mongodb';
import { fromBson, readDate, readSafeInteger, readString, toBsonInteger } from '../events/bson-values.js';

/**
 * How a snapshot is stored: one document per stream, `_id` = stream id. The state is kept as JSON
 * text: a snapshot is read whole, never queried, and text round-trips every JSON value exactly
 * (keys with `$` or `.`, `-0`-free numbers, 1e-7) on every MongoDB version.
 */
export interface SnapshotDocument {
  _id: string;
  aggregateVersion: Int32 | Long;
  snapshotVersion: Int32 | Long;
  state: string;
  createdAt: Date;
}

/** The document to store for a checked snapshot. */
export function toSnapshotDocument(snapshot: Snapshot): SnapshotDocument {
  return {
    _id: snapshot.streamId,
    aggregateVersion: toBsonInteger(snapshot.aggregateVersion),
    snapshotVersion: toBsonInteger(snapshot.snapshotVersion),
    state: JSON.stringify(snapshot.state),
    createdAt: new Date(snapshot.createdAt.getTime()),
  };
}

/**
 * Reads a stored snapshot back, whatever integer widths its numbers have. A state stored as a BSON
 * document (by another tool) is accepted too and converted as event data is.
 */
export function fromSnapshotDocument(document: Record<string, unknown>): Snapshot {
  const streamId = readString(document._id, '_id');
  return {
    streamId,
    aggregateVersion: readSafeInteger(document.aggregateVersion, 'aggregateVersion'),
    snapshotVersion: readSafeInteger(document.snapshotVersion, 'snapshotVersion'),
    state: readState(document.state, streamId),
    createdAt: readDate(document.createdAt, 'createdAt'),
  };
}

function readState(value: unknown, streamId: string): unknown {
  if (typeof value !== 'string') return fromBson(value, '$state');
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new EventSerializationError(
      `The stored snapshot of stream "${streamId}" is not valid JSON.`,
      undefined,
      {
        cause: error,
      },
    );
  }
}
