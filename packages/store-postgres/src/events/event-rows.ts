import type { DomainEvent, EventRegistry, StoredEvent } from '@es/core';
import { decodeStoredEvent } from '@es/core/adapter';
import { toPosition } from './position.js';

/** The columns every read selects, in the order {@link toStoredEvent} expects. */
export const EVENT_COLUMNS =
  'event_id, stream_id, version, position, type, schema_version, data, metadata, created_at, tags';

/**
 * One row of the event table as the drivers return it with `rowMode: 'array'`, in the order of
 * {@link EVENT_COLUMNS}: arrays spare the driver one object per row on long reads.
 */
export type EventRow = readonly [
  eventId: string,
  streamId: string,
  version: number,
  position: string | number | bigint,
  type: string,
  schemaVersion: number,
  data: unknown,
  metadata: Record<string, unknown>,
  createdAt: Date,
  // Migration 007; '{}' for events without tags.
  tags: string[],
];

/** Maps a row to a `StoredEvent`, upcast and validated by the registry when there is one. */
export function toStoredEvent<E extends DomainEvent>(
  row: EventRow,
  registry: EventRegistry<DomainEvent> | undefined,
): StoredEvent<E> {
  const event = {
    eventId: row[0],
    streamId: row[1],
    version: row[2],
    position: toPosition(row[3]),
    type: row[4],
    schemaVersion: row[5],
    data: row[6],
    metadata: row[7],
    timestamp: row[8],
    tags: row[9],
  } as StoredEvent;
  return registry ? decodeStoredEvent<E>(event, registry) : (event as StoredEvent<E>);
}
