import type { DomainEvent, EventRegistry, StoredEvent } from '@es/core';
import pg from 'pg';
import { toPosition } from './position.js';
import { JSONB_OID, parseTimestamptz, TEXT_ARRAY_OID } from './timestamp-parser.js';

/**
 * The columns every read selects, in the order {@link eventDecoder} expects. Empty metadata and
 * tags (most events) are sent as NULL: one string less each for the driver to make.
 */
export const EVENT_COLUMNS =
  "event_id, stream_id, version, position, type, schema_version, data, NULLIF(metadata, '{}') AS metadata, created_at, NULLIF(tags, '{}') AS tags";

/**
 * {@link EVENT_COLUMNS} for a read of one stream: the stream id is the read's own argument, so the
 * server sends NULL in its place.
 */
export const STREAM_EVENT_COLUMNS = EVENT_COLUMNS.replace('stream_id', 'NULL::text AS stream_id');

/**
 * One row of the event table as the drivers return it with `rowMode: 'array'`, in the order of
 * {@link EVENT_COLUMNS}: arrays spare the driver one object per row on long reads. From `pg`,
 * `data`, `metadata`, `created_at` and `tags` are the server's text (`EVENT_ROW_TYPES`); PGlite
 * returns them decoded.
 */
export type EventRow = readonly [
  eventId: string,
  // NULL in a read of one stream (STREAM_EVENT_COLUMNS).
  streamId: string | null,
  version: number,
  position: string | number | bigint,
  type: string,
  schemaVersion: number,
  data: unknown,
  // NULL for {} (EVENT_COLUMNS).
  metadata: string | Record<string, unknown> | null,
  createdAt: string | Date,
  // Migration 007; NULL for '{}', an event without tags.
  tags: string | string[] | null,
];

const parser = pg.types.getTypeParser as (oid: number, format: 'text') => (text: string) => unknown;
// The driver's parsers when this module loaded: while they are in place, empty metadata and tags
// become a new {} or [] without them (what they return for '{}').
const LOADED_JSONB = parser(JSONB_OID, 'text');
const LOADED_TEXT_ARRAY = parser(TEXT_ARRAY_OID, 'text');

type MutableEvent = { -readonly [K in keyof StoredEvent]: StoredEvent[K] };

/**
 * Returns the function that maps a row to a `StoredEvent`, upcast and validated by the registry
 * when there is one. `streamId` is the stream of a {@link STREAM_EVENT_COLUMNS} read. Every event
 * is a plain object with all its fields decoded: fresh `metadata`, `tags` and `timestamp` per
 * event (decoding them on first access measured costlier: docs/reads.md).
 */
export function eventDecoder<E extends DomainEvent>(
  registry: EventRegistry<DomainEvent> | undefined,
  streamId?: string,
): (row: EventRow) => StoredEvent<E> {
  // Looked up per read, as the driver looks its parsers up per query: a parser the application
  // set with `pg.types.setTypeParser` applies as before.
  const json = parser(JSONB_OID, 'text');
  const textArray = parser(TEXT_ARRAY_OID, 'text') as (text: string) => string[];
  const ownJson = json === LOADED_JSONB;
  const ownTextArray = textArray === LOADED_TEXT_ARRAY;
  return (row) => {
    const createdAt = row[8];
    let event: MutableEvent;
    if (typeof createdAt === 'string') {
      // `pg`: the server's text.
      const metadata = row[7] as string | null;
      const tags = row[9] as string | null;
      event = {
        eventId: row[0],
        streamId: row[1] ?? (streamId as string),
        version: row[2],
        position: toPosition(row[3]),
        type: row[4],
        schemaVersion: row[5],
        data: json(row[6] as string),
        metadata: (metadata === null
          ? ownJson
            ? {}
            : json('{}')
          : json(metadata)) as StoredEvent['metadata'],
        timestamp: parseTimestamptz(createdAt) as Date,
        tags: tags === null ? (ownTextArray ? [] : textArray('{}')) : textArray(tags),
      };
    } else {
      event = {
        eventId: row[0],
        streamId: row[1] ?? (streamId as string),
        version: row[2],
        position: toPosition(row[3]),
        type: row[4],
        schemaVersion: row[5],
        data: row[6],
        metadata: (row[7] ?? {}) as StoredEvent['metadata'],
        timestamp: createdAt,
        tags: (row[9] ?? []) as string[],
      };
    }
    if (registry) {
      // What decodeStoredEvent does, on the event just built rather than on a copy of it.
      const decoded = registry.decode(event);
      event.data = decoded.data;
      event.schemaVersion = decoded.schemaVersion;
    }
    return event as StoredEvent<E>;
  };
}
