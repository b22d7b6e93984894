import { type EventMetadata, EventSerializationError, type StoredEvent } from '@es/core';
import type { PreparedEvent } from '@es/core/adapter';
import { BSON, type Int32, type Long } from 'mongodb';
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
 * limit), with `_id` holding its global position as an Int64. `data` and `metadata` are JSON text:
 * they are read whole, never queried by the store, and text round-trips every JSON value exactly,
 * including keys BSON or MongoDB would interpret (`$ref`/`$id`, `$set`, `a.b`, `_bsontype`).
 */
export interface EventDocument {
  /** The global position. */
  _id: Long;
  streamId: string;
  version: Int32 | Long;
  eventId: string;
  type: string;
  schemaVersion: Int32 | Long;
  /** `JSON.stringify(data)`; absent when the data is `undefined`. */
  data: string | undefined;
  /** `JSON.stringify(metadata)`. */
  metadata: string;
  /** Commit time from the server's clock ($$NOW when the position was allocated). */
  timestamp: Date;
  /**
   * The event's tags, exactly as appended (`[]` when none): what queries of dynamic consistency
   * boundaries select by (index `tags_position`, migration 8). Documents written before the field
   * existed lack it and read as untagged.
   */
  tags?: string[];
  /**
   * Whether the id came with a batch whose caller chose ids (then it is unique across the store and
   * looked up by retries), or was made by the store (`false`: never looked up). Documents written
   * before the field existed lack it and count as chosen by a caller.
   */
  idSupplied?: boolean;
}

/** Where a batch goes: the stream's version before it and the position allocated to its first event. */
export interface BatchPlacement {
  readonly streamId: string;
  readonly versionBefore: number;
  readonly firstPosition: bigint;
  readonly timestamp: Date;
  /** Whether the batch carried caller-chosen ids (`PreparedAppend.mayBeRetry`); see {@link EventDocument}. */
  readonly idSupplied: boolean;
}

/** The stored fields of one event that do not depend on where it lands, its JSON text encoded once. */
export interface EncodedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: Int32 | Long;
  readonly data: string | undefined;
  readonly metadata: string;
  readonly tags: readonly string[];
}

/** MongoDB's limit on one document, 16 MiB, on every server version. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** Encodes a prepared batch: `data` and `metadata` become JSON text, once per append. */
export function encodeEvents(events: readonly PreparedEvent[]): EncodedEvent[] {
  return events.map((event) => ({
    eventId: event.eventId,
    type: event.type,
    schemaVersion: toBsonInteger(event.schemaVersion),
    data: JSON.stringify(event.data) as string | undefined,
    metadata: JSON.stringify(event.metadata),
    tags: event.tags,
  }));
}

/** Gives encoded events consecutive versions and positions: the documents to insert. */
export function placeEvents(encoded: readonly EncodedEvent[], placement: BatchPlacement): EventDocument[] {
  return encoded.map((event, index) => ({
    _id: toBsonPosition(placement.firstPosition + BigInt(index)),
    streamId: placement.streamId,
    version: toBsonInteger(placement.versionBefore + index + 1),
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    timestamp: placement.timestamp,
    idSupplied: placement.idSupplied,
    tags: [...event.tags],
  }));
}

/** Turns a prepared batch into the documents to insert, versions and positions consecutive. */
export function toEventDocuments(
  events: readonly PreparedEvent[],
  placement: BatchPlacement,
): EventDocument[] {
  return placeEvents(encodeEvents(events), placement);
}

/**
 * Refuses, before anything is sent, an event whose document would exceed MongoDB's 16 MiB limit
 * (measured with the widest envelope any placement can give it). Throws `EventSerializationError`
 * naming the event type; the driver would otherwise fail mid-transaction with a RangeError or a
 * `MongoInvalidArgumentError`. Returns the batch's total size in bytes (the same measure).
 */
export function assertEventsFit(encoded: readonly EncodedEvent[], streamId: string): number {
  const [widest] = placeEvents([encoded[0]!], {
    streamId,
    versionBefore: 2 ** 40, // an Int64 version: the widest encoding
    firstPosition: 0n,
    timestamp: new Date(0),
    idSupplied: true,
  });
  let total = 0;
  for (const event of encoded) {
    const bytes = BSON.calculateObjectSize(
      {
        ...widest,
        eventId: event.eventId,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
        tags: event.tags,
      },
      { ignoreUndefined: true },
    );
    if (bytes > MAX_DOCUMENT_BYTES) {
      throw new EventSerializationError(
        `Event "${event.type}" (id ${event.eventId}) is too large for MongoDB: its document would be ` +
          `${bytes} bytes of BSON, over the 16 MB (${MAX_DOCUMENT_BYTES} bytes) document limit. ` +
          'Nothing was written; store large payloads elsewhere and keep a reference in the event.',
        event.type,
      );
    }
    total += bytes;
  }
  return total;
}

/**
 * Reads a stored document back as a `StoredEvent`, whatever BSON number widths its fields hold
 * (documents written by other tools or older versions included). Throws `EventSerializationError`
 * naming the field when the envelope is not what this store writes.
 */
export function fromEventDocument(document: Record<string, unknown>): StoredEvent {
  const metadata = readJsonField(document.metadata ?? {}, 'metadata');
  return {
    eventId: readString(document.eventId, 'eventId'),
    streamId: readString(document.streamId, 'streamId'),
    version: readSafeInteger(document.version, 'version'),
    position: readPosition(document._id, '_id'),
    type: readString(document.type, 'type'),
    schemaVersion:
      document.schemaVersion === undefined ? 1 : readSafeInteger(document.schemaVersion, 'schemaVersion'),
    data: readJsonField(document.data, 'data'),
    metadata: (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)
      ? metadata
      : {}) as EventMetadata,
    timestamp: readDate(document.timestamp, 'timestamp'),
    tags: readTags(document.tags),
  };
}

const NO_TAGS: readonly string[] = Object.freeze([]);

// Documents written before tags existed lack the field: untagged. Anything but an array of strings
// was not written by this store.
function readTags(value: unknown): readonly string[] {
  if (value === undefined || value === null) return NO_TAGS;
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string')) {
    throw new EventSerializationError(
      'Stored field "tags" should hold an array of strings, but it does not. ' +
        'The document was not written by this store, or was edited by hand.',
    );
  }
  return value;
}

// This store writes JSON text. A BSON value in its place (a document written by another tool, or
// by version 0.1 of this store) is converted as fromBson does; a string is always JSON text.
function readJsonField(value: unknown, field: 'data' | 'metadata'): unknown {
  if (typeof value !== 'string') return fromBson(value, `$${field}`);
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new EventSerializationError(
      `Stored field "${field}" should hold JSON text, but it does not parse. ` +
        'The document was not written by this store, or was edited by hand.',
      undefined,
      { cause: error },
    );
  }
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
  tags: 1,
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
