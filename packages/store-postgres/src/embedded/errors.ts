/** Who holds an embedded data directory: what its lock file records. */
export interface EmbeddedDatabaseHolder {
  /** The holding process's id (on `hostname`). */
  readonly pid: number;
  /** The machine the holder runs on; a pid is only checked on this machine. */
  readonly hostname: string;
  /** The holder's command line, shortened (or the `command` it passed). */
  readonly command: string;
  /** When the holder took the lock (ISO 8601). */
  readonly since: string;
}

/** The stable code of `EmbeddedDatabaseLockedError`. Compare codes, not classes. */
export const EMBEDDED_DATABASE_LOCKED = 'ES_EMBEDDED_DATABASE_LOCKED';

// A registry-wide brand, as in @es/core: the guard works across two copies of this package.
const BRAND = Symbol.for('@es/store-postgres/embedded-database-locked');

/**
 * Another live process has the embedded (PGlite) data directory open, and it was still open when
 * the wait ended. PGlite serves one process at a time: two processes on one directory would each
 * keep their own copy and the last to close would overwrite the other's writes. Nothing was opened
 * or written. Wait for the holder to finish (or pass a longer `waitMs`), or use a PostgreSQL server
 * for work from several processes at once.
 */
export class EmbeddedDatabaseLockedError extends Error {
  readonly code = EMBEDDED_DATABASE_LOCKED;
  readonly [BRAND] = true;

  constructor(
    /** The data directory asked for. */
    readonly dataDir: string,
    /** The lock file that names the holder. */
    readonly lockFile: string,
    /** The process that holds it. */
    readonly holder: EmbeddedDatabaseHolder,
    /** How long this process waited before giving up, in milliseconds. */
    readonly waitedMs: number,
  ) {
    const where = holder.hostname ? ` on ${holder.hostname}` : '';
    super(
      `The embedded database in ${dataDir} is in use by process ${holder.pid}${where} ` +
        `("${holder.command}", since ${holder.since}); waited ${waitedMs} ms. ` +
        'PGlite serves one process at a time: try again when that process has finished (or wait ' +
        'longer), or use a PostgreSQL server (DATABASE_URL=postgres://...) to work from several ' +
        `processes at once. If that process is gone for good, delete ${lockFile}.`,
    );
    this.name = 'EmbeddedDatabaseLockedError';
  }
}

/** True for an `EmbeddedDatabaseLockedError`, whichever copy of the package threw it. */
export function isEmbeddedDatabaseLockedError(error: unknown): error is EmbeddedDatabaseLockedError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    (error as { code?: unknown }).code === EMBEDDED_DATABASE_LOCKED
  );
}
