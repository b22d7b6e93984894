import type { EventRegistry } from './event-registry.js';
import type { DomainEvent, StoredEvent } from './events.js';

/**
 * Applies the registry (upcasting and validation) to an event read from storage. Adapters call this
 * on every read so that all of them return events in the same, newest shape.
 */
export function decodeStoredEvent<E extends DomainEvent>(
  event: StoredEvent,
  registry: EventRegistry<DomainEvent> | undefined,
): StoredEvent<E> {
  if (!registry) return event as StoredEvent<E>;
  const decoded = registry.decode(event);
  return { ...event, data: decoded.data, schemaVersion: decoded.schemaVersion } as StoredEvent<E>;
}
