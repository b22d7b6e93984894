import type { Span } from '@opentelemetry/api';
import type {
  AppendOptions,
  AppendResult,
  ConditionalAppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
} from './event-store.js';
import type { DomainEvent, NewEvent, Position, StoredEvent } from './events.js';
import type { ExpectedVersionValue } from './expected-version.js';
import { endSpan, StoreTelemetry, type TelemetryOptions } from './telemetry.js';

/** Marks a store returned by {@link instrumentEventStore}, so a repository does not trace its appends twice. */
const INSTRUMENTED: unique symbol = Symbol.for('@es/core.instrumentedEventStore');

/** @internal True when `store` came from {@link instrumentEventStore} (its appends are traced already). */
export function isInstrumentedEventStore(store: EventStore): boolean {
  return (store as { [INSTRUMENTED]?: boolean })[INSTRUMENTED] === true;
}

/**
 * Wraps any event store with OpenTelemetry spans and metrics, without touching the adapter:
 * `appendEvents` and `append` run in an `es.append` span (whose trace context the store writes into
 * the events' metadata) and record `es.append.duration`, `es.append.size` and `es.events.appended`;
 * `getEvents` runs in an `es.stream.read` span, and each `getAllEvents` iteration in an `es.log.read`
 * span that ends with the iteration. Every other method is passed through. Without an OpenTelemetry
 * SDK the spans and instruments are the API's no-ops. See docs/telemetry.md for every name.
 *
 * @example
 * const store = instrumentEventStore(new PostgresEventStore({ connection: pool }));
 * const accounts = new EventSourcedRepository({ eventStore: store, factory: (id) => new BankAccount(id) });
 */
export function instrumentEventStore(store: EventStore, options: TelemetryOptions = {}): EventStore {
  if (isInstrumentedEventStore(store)) return store;
  const telemetry = new StoreTelemetry(options);
  const wrapper: EventStore & { [INSTRUMENTED]: true } = {
    [INSTRUMENTED]: true,
    get capabilities() {
      return store.capabilities;
    },
    appendEvents<E extends DomainEvent = DomainEvent>(
      streamId: string,
      expectedVersion: ExpectedVersionValue,
      events: readonly NewEvent<E>[],
    ): Promise<AppendResult> {
      return telemetry.traceAppend(
        streamId,
        Array.isArray(events) ? events.length : 0,
        () => store.appendEvents(streamId, expectedVersion, events),
        () => ({ 'es.expected_version': String(expectedVersion) }),
      );
    },
    getEvents<E extends DomainEvent = DomainEvent>(
      streamId: string,
      fromVersion?: number,
      readOptions?: ReadStreamOptions,
    ): Promise<StoredEvent<E>[]> {
      return telemetry.traceRead(
        'es.stream.read',
        () => ({ 'es.stream.id': streamId, 'es.from_version': fromVersion ?? 0 }),
        () => store.getEvents<E>(streamId, fromVersion, readOptions),
        (events) => ({ 'es.events.read': events.length }),
      );
    },
    getEventsByType: (eventType, fromTimestamp, readOptions) =>
      store.getEventsByType(eventType, fromTimestamp, readOptions),
    getAllEvents<E extends DomainEvent = DomainEvent>(
      fromPosition?: Position,
      readOptions?: ReadAllOptions,
    ): AsyncIterable<StoredEvent<E>> {
      return traceIteration(telemetry, fromPosition, () => store.getAllEvents<E>(fromPosition, readOptions));
    },
    getStreamVersion: (streamId) => store.getStreamVersion(streamId),
    streamExists: (streamId) => store.streamExists(streamId),
    close: () => store.close(),
  };
  if (store.subscribeToAppends) {
    const subscribe = store.subscribeToAppends.bind(store);
    wrapper.subscribeToAppends = (listener) => subscribe(listener);
  }
  if (store.read) {
    const read = store.read.bind(store);
    wrapper.read = (query, readOptions) => read(query, readOptions);
  }
  if (store.append) {
    const append = store.append.bind(store);
    wrapper.append = <E extends DomainEvent = DomainEvent>(
      events: readonly NewEvent<E>[],
      appendOptions?: AppendOptions,
    ): Promise<ConditionalAppendResult> =>
      telemetry.traceAppend(
        appendOptions?.streamId,
        Array.isArray(events) ? events.length : 0,
        () => append(events, appendOptions),
        () => ({ 'es.append.conditional': appendOptions?.condition !== undefined }),
      );
  }
  return wrapper;
}

/** One `es.log.read` span from the first step of the iteration to its end (or early return). */
function traceIteration<E extends DomainEvent>(
  telemetry: StoreTelemetry,
  fromPosition: Position | undefined,
  open: () => AsyncIterable<StoredEvent<E>>,
): AsyncIterable<StoredEvent<E>> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<StoredEvent<E>> {
      const iterator = open()[Symbol.asyncIterator]();
      let span: Span | undefined;
      let read = 0;
      const finish = (error?: { error: unknown }) => {
        if (!span) return;
        if (span.isRecording()) span.setAttribute('es.events.read', read);
        endSpan(span, error);
        span = undefined;
      };
      return {
        async next() {
          span ??= telemetry.startSpan('es.log.read', () => ({
            'es.from_position': Number(fromPosition ?? 0n),
          }));
          try {
            const step = await iterator.next();
            if (step.done) finish();
            else read++;
            return step;
          } catch (error) {
            finish({ error });
            throw error;
          }
        },
        async return(value?: unknown) {
          finish();
          return iterator.return ? iterator.return(value) : { done: true, value: undefined };
        },
      };
    },
  };
}
