/**
 * A position in the global log. Strictly increasing in the order `getAllEvents` returns events.
 * A `bigint`, because a JS `number` silently loses precision past 2^53.
 */
export type Position = bigint;

/** Metadata stored with every event: tracing ids plus any JSON fields the application adds. */
export interface EventMetadata {
  /** Id shared by every event caused by one request or workflow. */
  correlationId?: string;
  /** Id of the message (command or event) that directly caused this event. */
  causationId?: string;
  /**
   * Reserved: the W3C trace context of the span that appended the event, added by the store when an
   * OpenTelemetry span is active and the event has none (see docs/telemetry.md). Stored as given.
   */
  traceparent?: string;
  /** Reserved: the W3C `tracestate` that goes with `traceparent`, when the span had one. */
  tracestate?: string;
  [field: string]: unknown;
}

/**
 * What a domain event is: a `type` tag and its `data`. An aggregate's events are a union of these,
 * and narrowing on `type` narrows `data`.
 *
 * @example
 * type AccountEvent =
 *   | DomainEvent<'AccountOpened', { owner: string }>
 *   | DomainEvent<'MoneyDeposited', { amount: number }>;
 */
export interface DomainEvent<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
}

/** An event on its way into the store. Fields left out are filled in by the store. */
export type NewEvent<E extends DomainEvent = DomainEvent> = E & {
  /** Unique id; a retried append carrying the same ids is not written twice. Defaults to a UUID v7. */
  readonly eventId?: string;
  /** Shape version of `data`. Defaults to the registry's current version for the type, else 1. */
  readonly schemaVersion?: number;
  readonly metadata?: EventMetadata;
  /**
   * Strings that place the event in consistency boundaries (`course:c1`, `student:s7`): queries
   * select events by tag, and a conditional append checks the events its query selects. Stored
   * exactly as given, in order; each 1 to 512 characters, no duplicates, at most
   * `MAX_TAGS_PER_EVENT` (64). Only stores with `capabilities.dynamicConsistencyBoundaries` take them.
   */
  readonly tags?: readonly string[];
};

/** The fields the store adds to every event it persists. */
export interface StoredEventEnvelope {
  readonly eventId: string;
  readonly streamId: string;
  /** 1-based, gapless within the stream. */
  readonly version: number;
  /** Place in the global log. */
  readonly position: Position;
  readonly schemaVersion: number;
  readonly metadata: EventMetadata;
  /** When the store committed the event. */
  readonly timestamp: Date;
  /** The event's tags, exactly as appended (`[]` when it has none). Every store fills it. */
  readonly tags: readonly string[];
}

/**
 * A persisted event. Distributes over a union, so `switch (event.type)` narrows `event.data`.
 */
export type StoredEvent<E extends DomainEvent = DomainEvent> = E extends DomainEvent
  ? E & StoredEventEnvelope
  : never;

/** The `type` strings of an event union. */
export type EventType<E extends DomainEvent> = E['type'];

/** The member of an event union with the given `type`. */
export type EventOfType<E extends DomainEvent, T extends E['type']> = Extract<E, { type: T }>;
