import type { EventStore } from '@es/core';

/** One `getEvents` call seen by {@link recordStreamReads}. */
export interface StreamRead {
  readonly fromVersion: number;
  /** How many events the call returned. */
  readonly returned: number;
}

/**
 * Wraps any event store so that every `getEvents` call is recorded in `reads`: how tests prove that
 * loading from a snapshot reads only the events after it. Everything else passes through.
 *
 * @example
 * const events = recordStreamReads(new InMemoryEventStore());
 * await repository.getById('acc-1');
 * expect(events.reads).toEqual([{ fromVersion: 100, returned: 3 }]);
 */
export function recordStreamReads<S extends EventStore>(store: S): S & { readonly reads: StreamRead[] } {
  const reads: StreamRead[] = [];
  const getEvents: EventStore['getEvents'] = async (streamId, fromVersion = 0, options) => {
    const events = await store.getEvents(streamId, fromVersion, options);
    reads.push({ fromVersion, returned: events.length });
    return events as never;
  };
  return new Proxy(store, {
    get(target, key) {
      if (key === 'reads') return reads;
      if (key === 'getEvents') return getEvents;
      const value: unknown = Reflect.get(target, key, target);
      // Bound to the real store: adapters keep their state in #private fields.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as S & { readonly reads: StreamRead[] };
}
