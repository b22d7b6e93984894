import { type DomainEvent, decodeStoredEvent, type EventRegistry, type StoredEvent } from '@es/core';
import { toPosition } from './position.js';

/** The columns every read selects, in the order {@link toStoredEvent} expects. */
export const EVENT_COLUMNS =
  'event_id, stream_id, version, position, type, schema_version, data, metadata, created_at';

/** One row of the event table as the drivers return it. */
export interface EventRow {
  readonly event_id: string;
  readonly stream_id: string;
  readonly version: number;
  readonly position: string | number | bigint;
  readonly type: string;
  readonly schema_version: number;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
  readonly created_at: Date;
}

/** Maps a row to a `StoredEvent`, upcast and validated by the registry when there is one. */
export function toStoredEvent<E extends DomainEvent>(
  row: EventRow,
  registry: EventRegistry<DomainEvent> | undefined,
): StoredEvent<E> {
  const event = {
    eventId: row.event_id,
    streamId: row.stream_id,
    version: row.version,
    position: toPosition(row.position),
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    timestamp: row.created_at,
  } as StoredEvent;
  return decodeStoredEvent<E>(event, registry);
}
