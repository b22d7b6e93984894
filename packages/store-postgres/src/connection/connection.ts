import { InvalidArgumentError, StoreClosedError } from '@es/core';
import { createPgExecutor, type PgPoolLike } from './pg-executor.js';
import { createPGliteExecutor, isPGliteLike, type PGliteLike } from './pglite-executor.js';
import type { SqlExecutor } from './sql-executor.js';

/**
 * Where the store's data lives: a connection string (`postgres://user@host/db`; the store opens
 * and closes its own pool), a `pg.Pool` you own, or a PGlite instance you own.
 */
export type PostgresConnection = string | PgPoolLike | PGliteLike;

/** Builds the SQL executor for a connection; used by every PostgreSQL store of this package. */
export function createSqlExecutor(connection: PostgresConnection): SqlExecutor {
  if (typeof connection === 'string') {
    if (connection.length === 0) {
      throw new InvalidArgumentError('connection', 'the connection string is empty.');
    }
    return createPgExecutor(connection);
  }
  if (isPGliteLike(connection)) return createPGliteExecutor(connection);
  if (
    typeof connection === 'object' &&
    connection !== null &&
    typeof (connection as PgPoolLike).connect === 'function' &&
    typeof (connection as PgPoolLike).query === 'function'
  ) {
    return createPgExecutor(connection);
  }
  throw new InvalidArgumentError(
    'connection',
    'expected a connection string, a pg.Pool or a PGlite instance.',
  );
}

/** The executor a store works through: one that knows whether the store was closed. */
export interface StoreExecutor extends SqlExecutor {
  /** True once `close()` was called. */
  readonly closed: boolean;
}

/**
 * Wraps `inner` for one store. After `close()` every call fails with `StoreClosedError` naming
 * `store`, and so does a call that was running when the store closed under it; a second `close()`
 * does nothing. `beforeRelease` (stopping the store's own listeners) runs first; then `inner` is
 * closed when the store `owns` it (made it from a connection).
 */
export function storeExecutor(
  inner: SqlExecutor,
  store: string,
  owns: boolean,
  beforeRelease?: () => Promise<void>,
): StoreExecutor {
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing) throw new StoreClosedError(store);
  };
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    open();
    try {
      return await work();
    } catch (error) {
      if (closing) throw new StoreClosedError(store, { cause: error });
      throw error;
    }
  };
  return {
    kind: inner.kind,
    get closed() {
      return closing !== undefined;
    },
    query: (query) => guarded(() => inner.query(query)),
    exec: (script) => guarded(() => inner.exec(script)),
    transaction: (work) => guarded(() => inner.transaction(work)),
    listen: (channel, onNotify) => guarded(() => inner.listen(channel, onNotify)),
    close: () => {
      closing ??= (async () => {
        await beforeRelease?.();
        if (owns) await inner.close();
      })();
      return closing;
    },
  };
}
