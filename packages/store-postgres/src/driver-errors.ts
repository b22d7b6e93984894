import { EventStoreUnavailableError } from '@es/core';

// SQLSTATE classes and codes that mean "the database could not serve this call", as opposed to
// a bug in the SQL: connection exceptions (08), operator intervention (57: shutdown,
// pg_terminate_backend), insufficient resources (53).
const UNAVAILABLE_CLASSES = ['08', '53', '57'];
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

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

/**
 * Wraps a driver error in `EventStoreUnavailableError`, keeping it as `cause`. `operation` says
 * what was being done ("append to stream \"a\""); the message adds a hint for the common causes.
 */
export function wrapDriverError(error: unknown, operation: string): EventStoreUnavailableError {
  const state = sqlState(error);
  const detail = error instanceof Error ? error.message : String(error);
  let hint = '';
  if (isConnectionFailure(error)) {
    hint =
      ' The connection failed; an append either committed completely or not at all, so retrying with the same event ids is safe.';
  } else if (state === '42P01' || state === '42883' || state === '42703' || state === '3F000') {
    hint =
      ' The event store schema is missing or outdated: run migrate() (or the SQL files in migrations/postgres) first.';
  }
  return new EventStoreUnavailableError(
    `PostgreSQL failed to ${operation}: ${detail}${state ? ` (SQLSTATE ${state})` : ''}.${hint}`,
    { cause: error },
  );
}
