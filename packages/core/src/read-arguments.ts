import { InvalidArgumentError } from './errors.js';
import { type PreparedEventQuery, prepareEventQuery } from './event-query.js';
import type {
  QueryReadOptions,
  ReadAllOptions,
  ReadByTypeOptions,
  ReadStreamOptions,
} from './event-store.js';
import type { Position } from './events.js';
import {
  assertEventType,
  assertPosition,
  assertPositiveInteger,
  assertStreamId,
  assertVersionNumber,
  describe,
} from './validation.js';

// Validation and defaults for the read methods, shared by every adapter so they refuse the same inputs.

/** Default number of events fetched per round trip by `getAllEvents`. */
export const DEFAULT_BATCH_SIZE = 500;

// Before, and after, every commit time (the Unix epoch is too late for a clock set wrong).
const EARLIEST_TIMESTAMP = new Date('0001-01-01T00:00:00.000Z');
const LATEST_TIMESTAMP = new Date('9999-12-31T23:59:59.999Z');

function clampTimestamp(timestamp: Date): Date {
  if (timestamp.getTime() < EARLIEST_TIMESTAMP.getTime()) return EARLIEST_TIMESTAMP;
  if (timestamp.getTime() > LATEST_TIMESTAMP.getTime()) return LATEST_TIMESTAMP;
  return timestamp;
}

// Options are an object or left out: `null` or a string would otherwise be read as "no options"
// or fail with a TypeError.
function assertOptionsObject(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(
      'options',
      `expected an object, or leave it out; got ${describe(options)}.`,
    );
  }
}

/**
 * For adapters: validates the arguments of `getEvents` (throwing `InvalidArgumentError` as every
 * store does) and returns the options to apply. `toVersion` and `limit` stay `undefined` when not
 * given: read to the end of the stream, without a limit.
 */
export function readStreamArguments(
  streamId: unknown,
  fromVersion: unknown,
  options: ReadStreamOptions,
): { toVersion: number | undefined; limit: number | undefined } {
  assertStreamId(streamId);
  assertVersionNumber(fromVersion, 'fromVersion');
  assertOptionsObject(options);
  if (options.toVersion !== undefined) assertVersionNumber(options.toVersion, 'toVersion');
  if (options.limit !== undefined) assertPositiveInteger(options.limit, 'limit');
  return { toVersion: options.toVersion, limit: options.limit };
}

/**
 * For adapters: validates the arguments of `getEventsByType` (throwing `InvalidArgumentError`) and
 * resolves the defaults: `fromTimestamp` defaults to the earliest time and is clamped to the years
 * 1 to 9999, `afterPosition` defaults to `0n`, `limit` to `Number.MAX_SAFE_INTEGER` (all).
 */
export function readByTypeArguments(
  eventType: unknown,
  fromTimestamp: unknown,
  options: ReadByTypeOptions,
): { types: Set<string>; since: Date; afterPosition: Position; limit: number } {
  const list: unknown[] = Array.isArray(eventType) ? eventType : [eventType];
  if (list.length === 0) throw new InvalidArgumentError('eventType', 'name at least one event type.');
  for (const type of list) assertEventType(type);
  assertOptionsObject(options);
  if (
    fromTimestamp !== undefined &&
    !(fromTimestamp instanceof Date && !Number.isNaN(fromTimestamp.getTime()))
  ) {
    throw new InvalidArgumentError('fromTimestamp', `expected a valid Date, got ${describe(fromTimestamp)}.`);
  }
  // Left out means the default; null and any other value are checked as given.
  const afterPosition = options.afterPosition === undefined ? 0n : options.afterPosition;
  assertPosition(afterPosition, 'afterPosition');
  if (options.limit !== undefined) assertPositiveInteger(options.limit, 'limit');
  return {
    types: new Set(list as string[]),
    // Every valid Date is accepted. Outside years 1 to 9999 it is moved to that edge, which no
    // commit time passes: PostgreSQL's timestamps begin in 4713 BC (JavaScript's in 271821 BC),
    // and six-digit years are not read the same by every driver.
    since: clampTimestamp(fromTimestamp ?? EARLIEST_TIMESTAMP),
    afterPosition,
    limit: options.limit ?? Number.MAX_SAFE_INTEGER,
  };
}

/**
 * For adapters: validates the arguments of `getAllEvents` (throwing `InvalidArgumentError`) and
 * resolves the defaults: `batchSize` defaults to {@link DEFAULT_BATCH_SIZE} (500), `eventTypes` to
 * `undefined` (every type; an empty array is refused), `toPosition` to `undefined` (the end of the
 * log as each batch is read).
 *
 * @example
 * getAllEvents(fromPosition: Position = 0n, options: ReadAllOptions = {}) {
 *   const { batchSize, eventTypes, toPosition, signal } = readAllOptions(fromPosition, options);
 *   // ...read batches of `batchSize` events after `fromPosition`
 * }
 */
export function readAllOptions(
  fromPosition: unknown,
  options: ReadAllOptions,
): {
  batchSize: number;
  eventTypes: Set<string> | undefined;
  toPosition: Position | undefined;
  signal?: AbortSignal;
} {
  assertPosition(fromPosition, 'fromPosition');
  assertOptionsObject(options);
  if (options.signal !== undefined && typeof options.signal?.throwIfAborted !== 'function') {
    throw new InvalidArgumentError('signal', `expected an AbortSignal, got ${describe(options.signal)}.`);
  }
  const batchSize = options.batchSize === undefined ? DEFAULT_BATCH_SIZE : options.batchSize;
  assertPositiveInteger(batchSize, 'batchSize');
  if (options.toPosition !== undefined) assertPosition(options.toPosition, 'toPosition');
  if (options.eventTypes !== undefined) {
    if (!Array.isArray(options.eventTypes) || options.eventTypes.length === 0) {
      throw new InvalidArgumentError(
        'eventTypes',
        'expected a non-empty array of event types, or leave it out.',
      );
    }
    for (const type of options.eventTypes) assertEventType(type);
  }
  return {
    batchSize,
    eventTypes: options.eventTypes ? new Set(options.eventTypes) : undefined,
    toPosition: options.toPosition,
    signal: options.signal,
  };
}

/**
 * For adapters: validates the arguments of `EventStore.read` (throwing `InvalidArgumentError`) and
 * resolves the defaults: `afterPosition` defaults to `0n`, `limit` to `Number.MAX_SAFE_INTEGER`
 * (all). Throws the signal's reason when it is already aborted.
 */
export function readQueryArguments(
  query: unknown,
  options: QueryReadOptions,
): { query: PreparedEventQuery; afterPosition: Position; limit: number; signal?: AbortSignal } {
  const prepared = prepareEventQuery(query);
  assertOptionsObject(options);
  const afterPosition = options.afterPosition === undefined ? 0n : options.afterPosition;
  assertPosition(afterPosition, 'afterPosition');
  if (options.limit !== undefined) assertPositiveInteger(options.limit, 'limit');
  if (options.signal !== undefined && typeof options.signal?.throwIfAborted !== 'function') {
    throw new InvalidArgumentError('signal', `expected an AbortSignal, got ${describe(options.signal)}.`);
  }
  options.signal?.throwIfAborted();
  return {
    query: prepared,
    afterPosition,
    limit: options.limit ?? Number.MAX_SAFE_INTEGER,
    signal: options.signal,
  };
}
