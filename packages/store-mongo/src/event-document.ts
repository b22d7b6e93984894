import type { EventMetadata, PreparedEvent, StoredEvent } from '@es/core';
import type { Int32, Long } from 'mongodb';
import {
  fromBson,
  readDate,
  readPosition,
  readSafeInteger,
  readString,
  toBsonInteger,
  toBsonPosition,
} from './bson-values.js';

/**
 * How one event is stored: one document per event (so no stream ever meets the 16 MB document
 * limit), with `_id` holding its global position as an Int64.
 */
export interface EventDocument {
  /** The global position. */
  _id: Long;
  streamId: string;
  version: Int32 | Long;
  eventId: string;
  type: string;
  schemaVersion: Int32 | Long;
  data: unknown;
  metadata: EventMetadata;
  /** Commit time from the server's clock ($$NOW when the position was allocated). */
  timestamp: Date;
}

/** Where a batch goes: the stream's version before it and the position allocated to its first event. */
export interface BatchPlacement {
  readonly streamId: string;
  readonly versionBefore: number;
  readonly firstPosition: bigint;
  readonly timestamp: Date;
}

/** Turns a prepared batch into the documents to insert, versions and positions consecutive. */
export function toEventDocuments(
  events: readonly PreparedEvent[],
  placement: BatchPlacement,
): EventDocument[] {
  return events.map((event, index) => ({
    _id: toBsonPosition(placement.firstPosition + BigInt(index)),
    streamId: placement.streamId,
    version: toBsonInteger(placement.versionBefore + index + 1),
    eventId: event.eventId,
    type: event.type,
    schemaVersion: toBsonInteger(event.schemaVersion),
    data: event.data,
    metadata: event.metadata,
    timestamp: placement.timestamp,
  }));
}

/**
 * Reads a stored document back as a `StoredEvent`, whatever BSON number widths its fields hold
 * (documents written by other tools or older versions included). Throws `EventSerializationError`
 * naming the field when the envelope is not what this store writes.
 */
export function fromEventDocument(document: Record<string, unknown>): StoredEvent {
  const metadata = fromBson(document.metadata ?? {}, '$metadata');
  return {
    eventId: readString(document.eventId, 'eventId'),
    streamId: readString(document.streamId, 'streamId'),
    version: readSafeInteger(document.version, 'version'),
    position: readPosition(document._id, '_id'),
    type: readString(document.type, 'type'),
    schemaVersion:
      document.schemaVersion === undefined ? 1 : readSafeInteger(document.schemaVersion, 'schemaVersion'),
    data: fromBson(document.data, '$data'),
    metadata: (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)
      ? metadata
      : {}) as EventMetadata,
    timestamp: readDate(document.timestamp, 'timestamp'),
  };
}

/** The projection of the fields {@link fromEventDocument} reads. */
export const EVENT_PROJECTION = {
  _id: 1,
  streamId: 1,
  version: 1,
  eventId: 1,
  type: 1,
  schemaVersion: 1,
  data: 1,
  metadata: 1,
  timestamp: 1,
} as const;

/**
 * Read options for every query: numbers stay wrapped (Int32, Double, Long, Decimal128) whatever
 * the client's own settings, so {@link fromEventDocument} converts each one explicitly.
 */
export const RAW_READ = {
  promoteValues: false,
  promoteLongs: false,
  promoteBuffers: false,
  useBigInt64: false,
  bsonRegExp: true,
} as const;
