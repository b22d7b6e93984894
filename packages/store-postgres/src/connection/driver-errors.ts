import {
  type EventSourcingError,
  EventStoreUnavailableError,
  StoreAuthenticationError,
  StoreDatabaseNotFoundError,
  StoreNotMigratedError,
  StorePermissionDeniedError,
} from '@es/core';

// SQLSTATE classes and codes that mean "the database could not serve this call", as opposed to
// a bug in the SQL: connection exceptions (08), operator intervention (57: shutdown,
// pg_terminate_backend), insufficient resources (53).
const UNAVAILABLE_CLASSES = ['08', '53', '57'];
// Refused only because of other transactions: the same call can succeed when run again.
const RETRYABLE_STATES = new Set(['40001', '40P01', '55P03']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

// Errors an operator must fix; retrying cannot help.
const PERMISSION_DENIED = new Set(['42501']);
const AUTHENTICATION_FAILED = new Set(['28P01', '28000']);
const DATABASE_NOT_FOUND = new Set(['3D000']);
// Undefined table, function, column, schema: the migrations were not (all) applied.
const NOT_MIGRATED = new Set(['42P01', '42883', '42703', '3F000']);
// A read-only server (a hot standby) or session: writes and LISTEN belong on the primary.
const READ_ONLY = new Set(['25006']);

/** SQLSTATE of a driver error (`pg` and PGlite both expose `code`), if it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True when the error says the connection, not the statement, failed. */
export function isConnectionFailure(error: unknown): boolean {
  const state = sqlState(error);
  if (state) return UNAVAILABLE_CLASSES.includes(state.slice(0, 2));
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|Client was closed|Cannot use a pool after calling end|timeout exceeded when trying to connect|Client has encountered a connection error|PGlite is closed/i.test(
    message,
  );
}

/** Options of {@link wrapDriverError}. */
export interface WrapDriverErrorOptions {
  /** The operation was an append: a connection failure then says whether a retry is safe. */
  readonly append?: boolean;
}

/**
 * Turns a driver error into the toolkit's error, keeping it as `cause`. `operation` says what was
 * being done ("append to stream \"a\""). Faults a retry can cure (connection lost or refused, the
 * server shutting down, a serialization failure) become `EventStoreUnavailableError`; faults an
 * operator must fix get their own error saying what to fix:
 *
 * | SQLSTATE                      | error                        |
 * | ----------------------------- | ---------------------------- |
 * | 42501                         | `StorePermissionDeniedError` |
 * | 28P01, 28000                  | `StoreAuthenticationError`   |
 * | 3D000                         | `StoreDatabaseNotFoundError` |
 * | 42P01, 42883, 42703, 3F000    | `StoreNotMigratedError`      |
 * | 25006 (read-only server)      | `EventStoreUnavailableError`, saying to write to the primary |
 * | 08xxx, 53xxx, 57xxx, 40001, 40P01, 55P03, network errors | `EventStoreUnavailableError` |
 *
 * Anything else (a statement the server refused for another reason) is also reported as
 * `EventStoreUnavailableError`, with the server's message and SQLSTATE.
 */
export function wrapDriverError(
  error: unknown,
  operation: string,
  options: WrapDriverErrorOptions = {},
): EventSourcingError {
  const state = sqlState(error);
  const detail = error instanceof Error ? error.message : String(error);
  const failed = `PostgreSQL failed to ${operation}: ${detail}${state ? ` (SQLSTATE ${state})` : ''}.`;
  const cause = { cause: error };
  if (state && READ_ONLY.has(state)) {
    // Still "unavailable": a multi-host connection string may reach a newly promoted primary on retry.
    return new EventStoreUnavailableError(
      `${failed} The server accepts only reads: it is a hot standby, or the session is read-only ` +
        '(default_transaction_read_only). Send appends, commits and LISTEN to the primary; nothing was written.',
      cause,
    );
  }
  if (state && PERMISSION_DENIED.has(state)) {
    return new StorePermissionDeniedError(
      `${failed} The database role lacks a privilege this needs: grant it, or run this as a role that has it ` +
        '(migrate() must run as a role that may create schemas, tables and functions; the application role ' +
        'needs SELECT and INSERT on the event table and EXECUTE on its functions). Retrying will not help.',
      cause,
    );
  }
  if (state && AUTHENTICATION_FAILED.has(state)) {
    return new StoreAuthenticationError(
      `${failed} The server refused the credentials: check the user name and password of the connection. ` +
        'Retrying will not help.',
      cause,
    );
  }
  if (state && DATABASE_NOT_FOUND.has(state)) {
    return new StoreDatabaseNotFoundError(
      `${failed} The database named in the connection does not exist: create it (CREATE DATABASE) or fix ` +
        'the connection string. Retrying will not help.',
      cause,
    );
  }
  if (state && NOT_MIGRATED.has(state)) {
    return new StoreNotMigratedError(
      `${failed} The event store schema is missing or outdated: run migrate() (or the SQL files in ` +
        'migrations/postgres) as a role that may create tables and functions, then retry.',
      cause,
    );
  }
  let hint = '';
  // An append whose connection failed may have committed: say so in a field callers can test.
  const outcomeUnknown = options.append === true && isConnectionFailure(error);
  if (isConnectionFailure(error)) {
    hint = options.append
      ? ' The connection failed; an append either committed completely or not at all, so retrying with the same event ids is safe.'
      : ' The database could not serve the call (connection lost or refused, server busy or shutting down); retrying later can succeed.';
  } else if (state && RETRYABLE_STATES.has(state)) {
    hint = ' Another transaction got in the way and nothing was changed; retrying can succeed.';
  }
  return new EventStoreUnavailableError(`${failed}${hint}`, { ...cause, outcomeUnknown });
}
