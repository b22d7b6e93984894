import { ConcurrencyConflictError, InvalidArgumentError } from './errors.js';
import { uuidV7 } from './event-ids.js';
import { type PreparedAppendCondition, prepareAppendCondition } from './event-query.js';
import type { EventRegistry } from './event-registry.js';
import type { AppendOptions, AppendResult } from './event-store.js';
import type { DomainEvent, EventMetadata, NewEvent, Position } from './events.js';
import { ExpectedVersion, type ExpectedVersionValue } from './expected-version.js';
import { activeTraceMetadata, withTraceMetadata } from './telemetry.js';
import {
  assertEventType,
  assertExpectedVersion,
  assertJsonSerializable,
  assertStreamId,
  assertTagList,
  describe,
  MAX_SCHEMA_VERSION,
} from './validation.js';

/** An event checked and completed for writing: what every adapter persists. */
export interface PreparedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  /** The event's tags as given, `[]` when none. */
  readonly tags: readonly string[];
}

/** A validated append: adapters call {@link prepareAppend} first, so they all refuse the same inputs. */
export interface PreparedAppend {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersionValue;
  readonly events: readonly PreparedEvent[];
  /** True when the caller supplied at least one event id, so the append may be a retry. */
  readonly mayBeRetry: boolean;
}

/** The most events one append takes; every adapter refuses a larger batch the same way. */
export const MAX_BATCH_SIZE = 65_536;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Options of {@link prepareAppend}. */
export interface PrepareAppendOptions {
  /**
   * Makes the id of an event the caller left without one; {@link uuidV7} by default (ids that
   * sort by time keep a database's index inserts local). The ids are trusted as they are: each
   * call must return a new lower-case UUID.
   */
  readonly newEventId?: () => string;
  /**
   * The store persists and returns event tags (it has `capabilities.dynamicConsistencyBoundaries`).
   * Defaults to false: an event carrying tags is then refused with `InvalidArgumentError`, rather
   * than stored without them.
   */
  readonly acceptTags?: boolean;
}

/**
 * Validates an append's arguments and fills in event ids, schema versions and metadata. When an
 * OpenTelemetry span is active, each event's metadata gets its W3C `traceparent` (and `tracestate`)
 * unless the event carries a `traceparent` already; the caller's objects are not modified. Throws `InvalidArgumentError`, `EventSerializationError`, `UnknownEventTypeError` or
 * `EventValidationError` before anything is written.
 */
export function prepareAppend(
  streamId: unknown,
  expectedVersion: unknown,
  events: unknown,
  registry?: EventRegistry<DomainEvent>,
  options: PrepareAppendOptions = {},
): PreparedAppend {
  const newEventId = options.newEventId ?? uuidV7;
  assertStreamId(streamId);
  assertExpectedVersion(expectedVersion);
  if (!Array.isArray(events)) {
    throw new InvalidArgumentError('events', `expected an array of events, got ${describe(events)}.`);
  }
  if (events.length === 0) {
    throw new InvalidArgumentError('events', 'the batch is empty; append at least one event.');
  }
  if (events.length > MAX_BATCH_SIZE) {
    throw new InvalidArgumentError(
      'events',
      `the batch holds ${events.length} events; one append takes at most ${MAX_BATCH_SIZE}. Split it into several appends.`,
    );
  }
  const seenIds = new Set<string>();
  let mayBeRetry = false;
  // The active span's W3C context goes into each event's metadata (see telemetry.ts); none without an SDK.
  const traceMetadata = activeTraceMetadata();
  // A loop, not `map`: `map` skips the holes of a sparse array ([, event] or new Array(n)) and
  // would hand a batch with holes to the store.
  const prepared: PreparedEvent[] = [];
  for (let index = 0; index < events.length; index++) {
    if (!(index in events)) {
      throw new InvalidArgumentError(
        `events[${index}]`,
        'is a hole in the batch (as in [, event] or new Array(n)); pass one event per element.',
      );
    }
    const event: unknown = events[index];
    const result = prepareEvent(
      event,
      index,
      registry,
      newEventId,
      options.acceptTags ?? false,
      traceMetadata,
    );
    // Only ids the caller chose can repeat; generated ones are unique.
    if ((event as NewEvent).eventId !== undefined) {
      if (seenIds.has(result.eventId)) {
        throw new InvalidArgumentError(
          `events[${index}].eventId`,
          `"${result.eventId}" appears twice in the batch.`,
        );
      }
      seenIds.add(result.eventId);
      mayBeRetry = true;
    }
    prepared.push(result);
  }
  return { streamId, expectedVersion, events: prepared, mayBeRetry };
}

/** The fields of an event to append (`NewEvent`); any other field is refused. */
const NEW_EVENT_FIELDS: ReadonlySet<string> = new Set([
  'type',
  'data',
  'metadata',
  'eventId',
  'schemaVersion',
  'tags',
]);

function prepareEvent(
  event: unknown,
  index: number,
  registry: EventRegistry<DomainEvent> | undefined,
  newEventId: () => string,
  acceptTags: boolean,
  traceMetadata: Readonly<Record<string, string>> | undefined,
): PreparedEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidArgumentError(
      `events[${index}]`,
      `expected an object with "type" and "data", got ${describe(event)}.`,
    );
  }
  // Every field is stored as given or refused: a field the store would drop (a StoredEvent's
  // timestamp or position passed back in, a misspelt "metadata") is refused, not ignored.
  for (const key of Object.keys(event)) {
    if (!NEW_EVENT_FIELDS.has(key)) {
      throw new InvalidArgumentError(
        `events[${index}].${key}`,
        `is not a field of an event to append (it takes ${[...NEW_EVENT_FIELDS].join(', ')}); the store sets streamId, version, position and timestamp itself. To append a stored event again, pass its type, data, metadata and eventId.`,
      );
    }
  }
  const { type, data, eventId, schemaVersion, metadata, tags } = event as NewEvent;
  assertEventType(type);
  if (tags !== undefined) {
    if (!acceptTags) {
      throw new InvalidArgumentError(
        `events[${index}].tags`,
        'this store does not store tags (its capabilities.dynamicConsistencyBoundaries is not true); leave them out or use a store that supports them.',
      );
    }
    assertTagList(tags, `events[${index}].tags`, true);
  }
  if (data === undefined) {
    throw new InvalidArgumentError(
      `events[${index}].data`,
      `event "${type}" has no data; use {} for an event without fields.`,
    );
  }
  if (eventId !== undefined && (typeof eventId !== 'string' || !UUID.test(eventId))) {
    throw new InvalidArgumentError(
      `events[${index}].eventId`,
      `expected a UUID string, got ${describe(eventId)}.`,
    );
  }
  if (schemaVersion !== undefined) assertSchemaVersion(schemaVersion, index);
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  ) {
    throw new InvalidArgumentError(
      `events[${index}].metadata`,
      `expected a plain object, got ${describe(metadata)}.`,
    );
  }
  const encoded = registry
    ? registry.encode(type, data, schemaVersion)
    : { data, schemaVersion: schemaVersion ?? 1 };
  if (encoded.schemaVersion !== schemaVersion) assertSchemaVersion(encoded.schemaVersion, index);
  assertJsonSerializable(encoded.data, 'the data', type);
  assertJsonSerializable(metadata ?? {}, 'the metadata', type);
  return {
    eventId: eventId?.toLowerCase() ?? newEventId(),
    type,
    schemaVersion: encoded.schemaVersion,
    data: encoded.data,
    metadata: withTraceMetadata(metadata ?? {}, traceMetadata),
    tags: tags === undefined ? [] : [...tags],
  };
}

// Schema versions are 32-bit integer columns in the stores: a larger one is refused here, the same
// way everywhere, rather than by one database as an overflow.
function assertSchemaVersion(schemaVersion: unknown, index: number): void {
  if (
    typeof schemaVersion !== 'number' ||
    !Number.isSafeInteger(schemaVersion) ||
    schemaVersion < 1 ||
    schemaVersion > MAX_SCHEMA_VERSION
  ) {
    throw new InvalidArgumentError(
      `events[${index}].schemaVersion`,
      `expected an integer from 1 to ${MAX_SCHEMA_VERSION} (2^31 - 1), got ${describe(schemaVersion)}.`,
    );
  }
}

/** Where a previously stored copy of a batch event sits. */
export interface StoredEventLocation {
  readonly eventId: string;
  readonly version: number;
  readonly position: Position;
}

/**
 * Decides whether an append whose event ids were already found in the stream is a harmless retry.
 * Returns the original result when the whole batch is stored, in order, where the expected version
 * says it should be; returns `undefined` when none of the ids is stored; throws
 * `ConcurrencyConflictError` when only part of the batch, or the batch elsewhere, is stored.
 */
export function resolveRetriedAppend(
  append: PreparedAppend,
  found: readonly StoredEventLocation[],
  actualVersion: number,
): AppendResult | undefined {
  if (found.length === 0) return undefined;
  const byId = new Map(found.map((location) => [location.eventId, location]));
  const locations = append.events.map((event) => byId.get(event.eventId));
  const first = locations[0];
  const inOrder =
    first !== undefined &&
    locations.every(
      (location, index) => location !== undefined && location.version === first.version + index,
    );
  if (inOrder && startsWhereExpected(append.expectedVersion, first.version)) {
    const last = locations[locations.length - 1]!;
    return { nextVersion: last.version, lastPosition: last.position };
  }
  throw new ConcurrencyConflictError(
    append.streamId,
    append.expectedVersion,
    actualVersion,
    `${found.length} of the ${append.events.length} event ids are already stored in this stream, ` +
      'but not as this exact batch at this version',
  );
}

function startsWhereExpected(expected: ExpectedVersionValue, firstVersion: number): boolean {
  if (typeof expected === 'number') return firstVersion === expected + 1;
  if (expected === ExpectedVersion.NoStream) return firstVersion === 1;
  return true;
}

/** The prefix of the stream a batch appended without a stream id goes to (+ its first event id). */
export const STREAMLESS_STREAM_PREFIX = '$dcb-';

/** A validated `EventStore.append`: the batch, its stream, and the condition to check. */
export interface PreparedConditionalAppend extends PreparedAppend {
  /** The condition, checked; `undefined` when the append has none. */
  readonly condition: PreparedAppendCondition | undefined;
}

/**
 * For adapters: validates the arguments of `EventStore.append` as {@link prepareAppend} does the
 * batch (always accepting tags), checks the options and the condition, and resolves the stream:
 * `options.streamId` with `options.expectedVersion` (default `any`), or, without a stream id, a new
 * stream `$dcb-<first event id>` expected not to exist.
 */
export function prepareConditionalAppend(
  events: unknown,
  options: unknown,
  registry?: EventRegistry<DomainEvent>,
  prepareOptions: PrepareAppendOptions = {},
): PreparedConditionalAppend {
  const resolved = options === undefined ? {} : options;
  if (typeof resolved !== 'object' || resolved === null || Array.isArray(resolved)) {
    throw new InvalidArgumentError(
      'options',
      `expected an object, or leave it out; got ${describe(options)}.`,
    );
  }
  for (const key of Object.keys(resolved)) {
    if (key !== 'condition' && key !== 'streamId' && key !== 'expectedVersion') {
      throw new InvalidArgumentError(
        `options.${key}`,
        'is not an append option (they are condition, streamId, expectedVersion).',
      );
    }
  }
  const { condition, streamId, expectedVersion } = resolved as AppendOptions;
  if (streamId === undefined && expectedVersion !== undefined) {
    throw new InvalidArgumentError(
      'options.expectedVersion',
      'is given without streamId; an expected version applies to a named stream.',
    );
  }
  const prepared = condition === undefined ? undefined : prepareAppendCondition(condition);
  const withTags = { ...prepareOptions, acceptTags: true };
  if (streamId !== undefined) {
    const append = prepareAppend(
      streamId,
      expectedVersion ?? ExpectedVersion.Any,
      events,
      registry,
      withTags,
    );
    return { ...append, condition: prepared };
  }
  // The stream is named after the first event, so its id must be known first.
  const append = prepareAppend(
    STREAMLESS_STREAM_PREFIX,
    ExpectedVersion.NoStream,
    events,
    registry,
    withTags,
  );
  return { ...append, streamId: STREAMLESS_STREAM_PREFIX + append.events[0]!.eventId, condition: prepared };
}
