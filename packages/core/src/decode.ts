import type { EventRegistry } from './event-registry.js';
import type { DomainEvent, StoredEvent } from './events.js';

/**
 * Applies the registry (upcasting and validation) to an event read from storage, and gives an event
 * read without `tags` an empty list. Adapters call this on every read so that all of them return
 * events in the same, newest shape.
 */
export function decodeStoredEvent<E extends DomainEvent>(
  event: StoredEvent,
  registry: EventRegistry<DomainEvent> | undefined,
): StoredEvent<E> {
  const tagged = event.tags === undefined ? ({ ...event, tags: NO_TAGS } as StoredEvent) : event;
  if (!registry) return tagged as StoredEvent<E>;
  const decoded = registry.decode(tagged);
  return { ...tagged, data: decoded.data, schemaVersion: decoded.schemaVersion } as StoredEvent<E>;
}

// Shared by every event read without tags: frozen, so no caller can add to another's list.
const NO_TAGS: readonly string[] = Object.freeze([]);
