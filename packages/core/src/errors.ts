import type { AppendCondition } from './event-query.js';
import type { Position } from './events.js';
import type { ExpectedVersionValue } from './expected-version.js';

/** Stable codes for every error the toolkit throws. Compare codes, not classes. */
export const ErrorCode = {
  ConcurrencyConflict: 'ES_CONCURRENCY_CONFLICT',
  StreamNotFound: 'ES_STREAM_NOT_FOUND',
  AggregateNotFound: 'ES_AGGREGATE_NOT_FOUND',
  UnknownEventType: 'ES_UNKNOWN_EVENT_TYPE',
  EventSerialization: 'ES_EVENT_SERIALIZATION',
  EventValidation: 'ES_EVENT_VALIDATION',
  InvalidArgument: 'ES_INVALID_ARGUMENT',
  EventStoreUnavailable: 'ES_EVENT_STORE_UNAVAILABLE',
  StoreClosed: 'ES_STORE_CLOSED',
  StorePermissionDenied: 'ES_STORE_PERMISSION_DENIED',
  StoreAuthenticationFailed: 'ES_STORE_AUTHENTICATION_FAILED',
  StoreDatabaseNotFound: 'ES_STORE_DATABASE_NOT_FOUND',
  StoreNotMigrated: 'ES_STORE_NOT_MIGRATED',
  LeaseLost: 'ES_LEASE_LOST',
  AppendConditionFailed: 'ES_APPEND_CONDITION_FAILED',
} as const;

/** One of the stable `code` strings of `ErrorCode`, e.g. `'ES_CONCURRENCY_CONFLICT'`. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

// A registry-wide brand: guards keep working when two copies of @es/core are installed.
const BRAND = Symbol.for('@es/core/error');

/** Base class of every error the toolkit throws. Has a stable `code`; the driver's error is `cause`. */
export abstract class EventSourcingError extends Error {
  abstract readonly code: ErrorCodeValue;
  readonly [BRAND] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True for any error thrown by this toolkit, whichever copy of the package threw it. */
export function isEventSourcingError(error: unknown): error is EventSourcingError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

function hasCode(error: unknown, code: ErrorCodeValue): boolean {
  return isEventSourcingError(error) && error.code === code;
}

/**
 * The stream was not at the version the writer expected; nothing was written.
 * Reload the aggregate and retry (see `retryOnConcurrencyConflict`).
 */
export class ConcurrencyConflictError extends EventSourcingError {
  readonly code = ErrorCode.ConcurrencyConflict;
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersionValue;
  /** The stream's version when the append was refused (0 = no stream). */
  readonly actualVersion: number;

  constructor(
    streamId: string,
    expectedVersion: ExpectedVersionValue,
    actualVersion: number,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Concurrency conflict on stream "${streamId}": expected version ${String(expectedVersion)}, ` +
        `actual version ${actualVersion}${detail ? ` (${detail})` : ''}. Nothing was written; ` +
        'reload the stream and retry the command.',
      options,
    );
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** A read that requires the stream found no event in it. */
export class StreamNotFoundError extends EventSourcingError {
  readonly code = ErrorCode.StreamNotFound;
  constructor(readonly streamId: string) {
    super(`Stream "${streamId}" has no events. Check the id, or append to it first.`);
  }
}

/** `getById` found no event for the aggregate. */
export class AggregateNotFoundError extends EventSourcingError {
  readonly code = ErrorCode.AggregateNotFound;
  constructor(readonly aggregateId: string) {
    super(`Aggregate "${aggregateId}" does not exist: its stream has no events.`);
  }
}

/** An event type (or a schema version of it) that the event registry does not know. */
export class UnknownEventTypeError extends EventSourcingError {
  readonly code = ErrorCode.UnknownEventType;
  constructor(
    readonly eventType: string,
    readonly schemaVersion?: number,
    detail?: string,
  ) {
    super(
      detail ??
        `Unknown event type "${eventType}"${schemaVersion === undefined ? '' : ` (schema version ${schemaVersion})`}. ` +
          'Register it in the EventRegistry before appending or reading it.',
    );
  }
}

/** Event data or metadata that cannot be stored faithfully as JSON, or stored JSON that cannot be read. */
export class EventSerializationError extends EventSourcingError {
  readonly code = ErrorCode.EventSerialization;
  constructor(
    message: string,
    readonly eventType?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One problem a schema found, with the path to the offending field. */
export interface ValidationIssue {
  readonly message: string;
  readonly path?: readonly PropertyKey[];
}

/** Event data that its registered schema rejects. Nothing was written. */
export class EventValidationError extends EventSourcingError {
  readonly code = ErrorCode.EventValidation;
  constructor(
    readonly eventType: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    const summary = issues
      .slice(0, 5)
      .map((issue) => (issue.path?.length ? `${issue.path.map(String).join('.')}: ` : '') + issue.message)
      .join('; ');
    super(`Event "${eventType}" failed its schema: ${summary}.`);
  }
}

/** A caller passed a value the API cannot accept. Says which argument and why. */
export class InvalidArgumentError extends EventSourcingError {
  readonly code = ErrorCode.InvalidArgument;
  constructor(
    readonly argument: string,
    reason: string,
  ) {
    super(`Invalid ${argument}: ${reason}`);
  }
}

/**
 * The store could not be reached, or the connection failed mid-operation. For an append, the
 * outcome is atomic: either all events were committed or none; a retry with the same event ids is
 * safe. `outcomeUnknown` says whether the append may have been written (its commit was sent).
 */
export class EventStoreUnavailableError extends EventSourcingError {
  readonly code = ErrorCode.EventStoreUnavailable;
  /**
   * True when an append was sent but its commit was not confirmed (the connection dropped during
   * the commit): it may have been written. Retry only with the same event ids, which the store
   * recognises; a retry with new ids could store the batch twice. False when nothing was written.
   */
  readonly outcomeUnknown: boolean;
  constructor(message: string, options?: { cause?: unknown; outcomeUnknown?: boolean }) {
    super(message, options);
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/**
 * The store's `close()` was called; every later call (and one that was still running) fails with
 * this error. Retrying cannot help: open a new store.
 */
export class StoreClosedError extends EventSourcingError {
  readonly code = ErrorCode.StoreClosed;
  constructor(
    readonly store: string,
    options?: { cause?: unknown },
  ) {
    super(`${store} is closed: close() was called on it. Create a new store to keep working.`, options);
  }
}

/**
 * The database refused the operation to this role (e.g. `migrate()` run by an application role that
 * may only read and append). Retrying cannot help: grant the privilege, or run it as the owner.
 */
export class StorePermissionDeniedError extends EventSourcingError {
  readonly code = ErrorCode.StorePermissionDenied;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The database refused the credentials. Retrying cannot help: fix the user name or password. */
export class StoreAuthenticationError extends EventSourcingError {
  readonly code = ErrorCode.StoreAuthenticationFailed;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The database named in the connection does not exist. Create it, or fix the connection string. */
export class StoreDatabaseNotFoundError extends EventSourcingError {
  readonly code = ErrorCode.StoreDatabaseNotFound;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A table, function, column or schema the store needs is missing: the migrations were not applied
 * (or not all of them). Run `migrate()` as a role that may create them.
 */
export class StoreNotMigratedError extends EventSourcingError {
  readonly code = ErrorCode.StoreNotMigrated;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A consumer-group worker tried to commit for a partition whose lease it no longer holds (it
 * expired, or another worker took the partition over): nothing was written. The worker must drop
 * the partition; its new owner carries on from the last committed checkpoint.
 */
export class LeaseLostError extends EventSourcingError {
  readonly code = ErrorCode.LeaseLost;
  constructor(
    readonly group: string,
    readonly partition: number,
    readonly token: bigint,
  ) {
    super(
      `The lease on partition ${partition} of consumer group "${group}" (fencing token ${token}) is no longer held: ` +
        'it expired or another worker took it over. Nothing was written; the new owner carries on from the last checkpoint.',
    );
  }
}

/**
 * A conditional append found an event matching its condition's query after the condition's
 * position: the decision was made on stale facts. Nothing was written (none of the batch). Read
 * the query again, decide again and retry (the `decide` helper does it for you).
 *
 * @example
 * const error = new AppendConditionFailedError({ failIfEventsMatch: EventQuery.tags('user:ada') }, 7n);
 * error.code; // 'ES_APPEND_CONDITION_FAILED'
 */
export class AppendConditionFailedError extends EventSourcingError {
  readonly code = ErrorCode.AppendConditionFailed;
  /** The condition that failed, as given to the append. */
  readonly condition: AppendCondition;
  /**
   * The position of a matching event after the condition's position (the first one, where the
   * store finds it cheaply); `undefined` when the store only knows that one exists.
   */
  readonly conflictingPosition: Position | undefined;

  constructor(condition: AppendCondition, conflictingPosition?: Position, options?: { cause?: unknown }) {
    const where = [
      condition.afterPosition === undefined ? '' : ` after position ${condition.afterPosition}`,
      conflictingPosition === undefined ? '' : ` (at position ${conflictingPosition})`,
    ].join('');
    super(
      `Append condition failed: an event matching the condition's query was appended${where}. ` +
        'Nothing was written; read the query again, decide again and retry.',
      options,
    );
    this.condition = condition;
    this.conflictingPosition = conflictingPosition;
  }
}

/**
 * Whether `e` is a {@link ConcurrencyConflictError}: an append found the stream at another version
 * than expected and wrote nothing. Compares the error's code, not its class, so it also recognises
 * the error of another installed copy of @es/core.
 *
 * @example
 * try {
 *   await repository.save(account);
 * } catch (error) {
 *   if (!isConcurrencyConflictError(error)) throw error;
 *   // reload the aggregate and try again, or use retryOnConcurrencyConflict
 * }
 */
export const isConcurrencyConflictError = (e: unknown): e is ConcurrencyConflictError =>
  hasCode(e, ErrorCode.ConcurrencyConflict);
/** True for a `StreamNotFoundError` (`ES_STREAM_NOT_FOUND`), from any copy of the package. */
export const isStreamNotFoundError = (e: unknown): e is StreamNotFoundError =>
  hasCode(e, ErrorCode.StreamNotFound);
/** True for a `AggregateNotFoundError` (`ES_AGGREGATE_NOT_FOUND`), from any copy of the package. */
export const isAggregateNotFoundError = (e: unknown): e is AggregateNotFoundError =>
  hasCode(e, ErrorCode.AggregateNotFound);
/** True for a `UnknownEventTypeError` (`ES_UNKNOWN_EVENT_TYPE`), from any copy of the package. */
export const isUnknownEventTypeError = (e: unknown): e is UnknownEventTypeError =>
  hasCode(e, ErrorCode.UnknownEventType);
/** True for a `EventSerializationError` (`ES_EVENT_SERIALIZATION`), from any copy of the package. */
export const isEventSerializationError = (e: unknown): e is EventSerializationError =>
  hasCode(e, ErrorCode.EventSerialization);
/** True for a `EventValidationError` (`ES_EVENT_VALIDATION`), from any copy of the package. */
export const isEventValidationError = (e: unknown): e is EventValidationError =>
  hasCode(e, ErrorCode.EventValidation);
/** True for a `InvalidArgumentError` (`ES_INVALID_ARGUMENT`), from any copy of the package. */
export const isInvalidArgumentError = (e: unknown): e is InvalidArgumentError =>
  hasCode(e, ErrorCode.InvalidArgument);
/** True for a `EventStoreUnavailableError` (`ES_EVENT_STORE_UNAVAILABLE`), from any copy of the package. */
export const isEventStoreUnavailableError = (e: unknown): e is EventStoreUnavailableError =>
  hasCode(e, ErrorCode.EventStoreUnavailable);
/** True for a `StoreClosedError` (`ES_STORE_CLOSED`), from any copy of the package. */
export const isStoreClosedError = (e: unknown): e is StoreClosedError => hasCode(e, ErrorCode.StoreClosed);
/** True for a `StorePermissionDeniedError` (`ES_STORE_PERMISSION_DENIED`), from any copy of the package. */
export const isStorePermissionDeniedError = (e: unknown): e is StorePermissionDeniedError =>
  hasCode(e, ErrorCode.StorePermissionDenied);
/** True for a `StoreAuthenticationError` (`ES_STORE_AUTHENTICATION_FAILED`), from any copy of the package. */
export const isStoreAuthenticationError = (e: unknown): e is StoreAuthenticationError =>
  hasCode(e, ErrorCode.StoreAuthenticationFailed);
/** True for a `StoreDatabaseNotFoundError` (`ES_STORE_DATABASE_NOT_FOUND`), from any copy of the package. */
export const isStoreDatabaseNotFoundError = (e: unknown): e is StoreDatabaseNotFoundError =>
  hasCode(e, ErrorCode.StoreDatabaseNotFound);
/** True for a `StoreNotMigratedError` (`ES_STORE_NOT_MIGRATED`), from any copy of the package. */
export const isStoreNotMigratedError = (e: unknown): e is StoreNotMigratedError =>
  hasCode(e, ErrorCode.StoreNotMigrated);
/** True for a `LeaseLostError` (`ES_LEASE_LOST`), from any copy of the package. */
export const isLeaseLostError = (e: unknown): e is LeaseLostError => hasCode(e, ErrorCode.LeaseLost);
/**
 * True for an {@link AppendConditionFailedError} (`ES_APPEND_CONDITION_FAILED`), from any copy of
 * the package.
 *
 * @example
 * try {
 *   await store.append(events, { condition });
 * } catch (error) {
 *   if (!isAppendConditionFailedError(error)) throw error;
 *   // read the query again and decide again
 * }
 */
export const isAppendConditionFailedError = (e: unknown): e is AppendConditionFailedError =>
  hasCode(e, ErrorCode.AppendConditionFailed);
