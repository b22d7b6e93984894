import {
  ConcurrencyConflictError,
  EventSerializationError,
  EventStoreUnavailableError,
  type ExpectedVersionValue,
  isEventSourcingError,
  StoreAuthenticationError,
  StoreNotMigratedError,
  StorePermissionDeniedError,
} from '@es/core';
import { BSON, MongoInvalidArgumentError } from 'mongodb';
import { integerOf } from '../events/bson-values.js';

// Server error codes this package reacts to (https://www.mongodb.com/docs/manual/reference/error-codes/).
const DUPLICATE_KEY = new Set([11000, 11001]);
const TOO_LARGE = new Set([10334, 17419, 17420, 2]);
// A whole transaction too large: TransactionTooLarge (257, MongoDB 4.0: one oplog entry over 16 MB),
// TransactionTooLargeForCache (388, 6.2+: its writes cannot fit in the WiredTiger cache).
const TRANSACTION_TOO_LARGE = new Set([257, 388]);
// An index build that ran out of its maxTimeMS.
const MAX_TIME_EXPIRED = 50;
// Errors an operator must fix; retrying cannot help.
const AUTHENTICATION_FAILED = 18;
const UNAUTHORIZED = 13;
// NamespaceNotFound, IndexNotFound: the collections or indexes of migrate() are missing.
const NOT_MIGRATED = new Set([26, 27]);
const BAD_VALUE = 2;

interface DriverErrorShape {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly name?: unknown;
  readonly keyPattern?: unknown;
  readonly writeErrors?: unknown;
  readonly errorResponse?: { readonly keyPattern?: unknown; readonly errmsg?: unknown };
  hasErrorLabel?(label: string): boolean;
}

const shape = (error: unknown): DriverErrorShape =>
  typeof error === 'object' && error !== null ? (error as DriverErrorShape) : {};

// The server's error code as a number. A reply read with promoteValues: false (as every query of
// this store is) gives the driver's error an Int32 `code`, not a number.
function codeOf(error: unknown): number | undefined {
  const integer = integerOf(shape(error).code);
  return integer === undefined ? undefined : Number(integer);
}

/** True for a unique-index violation (E11000), from a single write or a bulk write. */
export function isDuplicateKeyError(error: unknown): boolean {
  const { writeErrors } = shape(error);
  if (DUPLICATE_KEY.has(codeOf(error) ?? 0)) return true;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.some((item) => DUPLICATE_KEY.has(codeOf(item) ?? 0));
}

/**
 * The name of the unique index a duplicate-key error hit (e.g. `stream_version`, `_id_`), read from
 * the server's message, or `undefined` when the error does not say.
 */
export function duplicateKeyIndex(error: unknown): string | undefined {
  const text = errorText(error);
  return text ? /index: (\S+) dup key/.exec(text)?.[1] : undefined;
}

/**
 * The collection (without the database) a duplicate-key error was raised on, read from the
 * server's message (`E11000 duplicate key error collection: shop.events index: ...`), or
 * `undefined` when the error does not say.
 */
export function duplicateKeyCollection(error: unknown): string | undefined {
  const namespace = /collection: (\S+) index:/.exec(errorText(error) ?? '')?.[1];
  const dot = namespace?.indexOf('.') ?? -1;
  return namespace && dot > 0 ? namespace.slice(dot + 1) : undefined;
}

function errorText(error: unknown): string | undefined {
  const { message, errorResponse } = shape(error);
  return [errorResponse?.errmsg, message].find((part) => typeof part === 'string') as string | undefined;
}

/** True when the driver labels the error as safe to retry the whole transaction. */
export function isTransientTransactionError(error: unknown): boolean {
  const { hasErrorLabel } = shape(error);
  return typeof hasErrorLabel === 'function' && hasErrorLabel.call(error, 'TransientTransactionError');
}

/**
 * True when the server refused a transaction as too large as a whole (codes 257, 388): retrying
 * the same batch can never succeed.
 */
export function isTransactionTooLarge(error: unknown): boolean {
  return TRANSACTION_TOO_LARGE.has(codeOf(error) ?? 0);
}

/** True when the server stopped an operation at its `maxTimeMS` (code 50). */
export function isMaxTimeExpiredError(error: unknown): boolean {
  return codeOf(error) === MAX_TIME_EXPIRED;
}

/**
 * The error a user sees when an append lost a race that the unique index caught: a
 * `ConcurrencyConflictError` carrying the stream's actual version, with the driver error as `cause`.
 */
export function conflictFromDuplicateKey(
  error: unknown,
  streamId: string,
  expectedVersion: ExpectedVersionValue,
  actualVersion: number,
): ConcurrencyConflictError {
  const index = duplicateKeyIndex(error);
  const detail =
    index === 'stream_event_id'
      ? 'another writer stored one of these event ids in the stream first'
      : 'another writer appended to the stream first';
  return new ConcurrencyConflictError(
    streamId,
    expectedVersion,
    actualVersion,
    `${detail}${index ? `; unique index "${index}"` : ''}`,
    { cause: error },
  );
}

/**
 * Wraps a driver error in the toolkit's typed errors, keeping it as `cause`. Input that can never
 * be stored (a document over 16 MB, refused by the server or by the driver before sending; a value
 * BSON cannot serialize; a transaction the server refuses as too large, codes 257 and 388) becomes
 * `EventSerializationError`, so retry loops stop. Faults an operator
 * must fix get their own error: refused credentials (code 18) `StoreAuthenticationError`, a user
 * without the needed role (13) `StorePermissionDeniedError`, a missing collection or index (26, 27,
 * or a hint naming no index) `StoreNotMigratedError`. Anything else becomes
 * `EventStoreUnavailableError`. Errors of the toolkit itself pass through unchanged.
 */
export function wrapDriverError(error: unknown, operation: string): Error {
  if (isEventSourcingError(error)) return error;
  const { message } = shape(error);
  const text = typeof message === 'string' ? message : String(error);
  const serverTooLarge = TOO_LARGE.has(codeOf(error) ?? 0) && /too large|size/i.test(text);
  if (serverTooLarge || isClientTooLarge(error)) {
    return new EventSerializationError(
      `MongoDB refused the document during ${operation} as too large: ${text}. ` +
        'An event (data plus metadata) must fit in the 16 MB BSON document limit; nothing was written.',
      undefined,
      { cause: error },
    );
  }
  const code = codeOf(error);
  const said = text.replace(/\.$/, '');
  if (isTransactionTooLarge(error)) {
    return new EventSerializationError(
      `MongoDB refused the transaction of ${operation} as too large: ${said}. One append is one ` +
        "transaction and its writes must fit in the server's cache; nothing was written. Append the " +
        'events in smaller batches (and keep maxBatchBytes below what the server accepts).',
      undefined,
      { cause: error },
    );
  }
  if (code === AUTHENTICATION_FAILED) {
    return new StoreAuthenticationError(
      `MongoDB refused the credentials during ${operation}: ${said}. Check the user, password and ` +
        'authSource of the connection string. Retrying will not help.',
      { cause: error },
    );
  }
  if (code === UNAUTHORIZED) {
    return new StorePermissionDeniedError(
      `MongoDB refused ${operation} to this user: ${said}. Grant the user a role that allows it (readWrite ` +
        'on the database; migrate() also needs to create collections and indexes), or run it as one that ' +
        'has it. Retrying will not help.',
      { cause: error },
    );
  }
  if (
    (code !== undefined && NOT_MIGRATED.has(code)) ||
    (code === BAD_VALUE && /hint provided does not correspond to an existing index/i.test(text))
  ) {
    return new StoreNotMigratedError(
      `MongoDB ${operation} failed: ${said}. A collection or index of the store is missing: run ` +
        'migrate() (or pass autoMigrate: true) as a user that may create them.',
      { cause: error },
    );
  }
  if (BSON.BSONError.isBSONError(error)) {
    return new EventSerializationError(
      `The document could not be converted to BSON during ${operation}: ${text}. Nothing was written.`,
      undefined,
      { cause: error },
    );
  }
  return new EventStoreUnavailableError(`MongoDB ${operation} failed: ${text}`, { cause: error });
}

// The driver checks each document against the server's maxBsonObjectSize before sending an insert
// and throws this (no server code); inside a transaction the transaction is then aborted.
function isClientTooLarge(error: unknown): boolean {
  return error instanceof MongoInvalidArgumentError && /larger than the maximum size/i.test(error.message);
}
