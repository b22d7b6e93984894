import { resolve } from 'node:path';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { EventStoreUnavailableError } from '@es/core';
import { type DataDirLock, type LockDataDirOptions, lockDataDir } from './data-dir-lock.js';
import { isEmbeddedDatabaseLockedError } from './errors.js';

/** Options of `openEmbeddedPostgres`: the folder, the lock's wait (see `LockDataDirOptions`), PGlite's own options. */
export interface OpenEmbeddedPostgresOptions extends LockDataDirOptions {
  /** The folder PGlite keeps its files in; created if missing. */
  readonly dataDir: string;
  /** More PGlite options (extensions, debug, ...); `dataDir` is set from the option above. */
  readonly pglite?: Omit<PGliteOptions, 'dataDir'>;
}

/** An embedded PostgreSQL database that this process alone has open. */
export interface EmbeddedPostgres {
  /** The PGlite instance: pass it as `connection` to the stores of this package. */
  readonly db: PGlite;
  /** The data directory, as an absolute path. */
  readonly dataDir: string;
  /** The lock file naming this process. */
  readonly lockFile: string;
  /** Closes PGlite (its files are complete afterwards), then releases the lock. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens the PGlite database kept in `dataDir` for this process alone. PGlite runs inside one
 * process: a second process opening the same folder would work on its own copy, and whichever
 * closed last would overwrite the other's writes. So the folder is locked first (`lockDataDir`):
 * a second process waits up to `waitMs` (default 0) for the first to close it, then gets an
 * `EmbeddedDatabaseLockedError` naming the holder. A lock left by a killed process is taken over.
 *
 * Any other failure (a folder that cannot be created or written, files PGlite cannot read) is an
 * `EventStoreUnavailableError` saying which folder, with the cause attached.
 *
 * @example
 * const embedded = await openEmbeddedPostgres({ dataDir: './.data/app', waitMs: 30_000 });
 * const store = new PostgresEventStore({ connection: embedded.db });
 * try { ... } finally { await store.close(); await embedded.close(); }
 */
export async function openEmbeddedPostgres(options: OpenEmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  let lock: DataDirLock;
  try {
    lock = await lockDataDir(dataDir, options);
  } catch (error) {
    if (isEmbeddedDatabaseLockedError(error) || isInvalidArgument(error)) throw error;
    throw unavailable(dataDir, error);
  }
  let db: PGlite;
  try {
    // Loaded here so that the package works without the optional PGlite dependency.
    const { PGlite } = await import('@electric-sql/pglite');
    db = await PGlite.create({ ...options.pglite, dataDir });
  } catch (error) {
    await lock.release();
    throw unavailable(dataDir, error);
  }
  let closing: Promise<void> | undefined;
  return {
    db,
    dataDir,
    lockFile: lock.lockFile,
    close() {
      closing ??= (async () => {
        try {
          if (!db.closed) await db.close();
        } finally {
          await lock.release();
        }
      })();
      return closing;
    },
  };
}

function unavailable(dataDir: string, error: unknown): EventStoreUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new EventStoreUnavailableError(`Cannot open the embedded database in ${dataDir}: ${reason}`, {
    cause: error,
  });
}

function isInvalidArgument(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ES_INVALID_ARGUMENT';
}
