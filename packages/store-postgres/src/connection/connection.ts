import { InvalidArgumentError, StoreClosedError } from '@es/core';
import { createPgExecutor, type PgPoolLike } from './pg-executor.js';
import { createPGliteExecutor, isPGliteLike, type PGliteLike } from './pglite-executor.js';
import type { SqlExecutor } from './sql-executor.js';

/**
 * Where the data lives, the `connection` option of every store, lock and `migrate()` of this
 * package: a connection string (`postgres://user@host/db`; the store opens and closes its own
 * pool), a `pg.Pool` you own, a PGlite instance you own, or an executor from
 * {@link createSqlExecutor} (to share one pool between several stores; it stays yours).
 */
export type PostgresConnection = string | PgPoolLike | PGliteLike | SqlExecutor;

/**
 * Builds the SQL executor for a connection; used by every PostgreSQL store of this package. Given
 * an executor, returns it as it is.
 */
export function createSqlExecutor(connection: PostgresConnection): SqlExecutor {
  if (isSqlExecutor(connection)) return connection;
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
    'expected a connection string, a pg.Pool, a PGlite instance or an executor from createSqlExecutor.',
  );
}

/** True for an executor (made by `createSqlExecutor`), as opposed to a connection to make one from. */
export function isSqlExecutor(value: unknown): value is SqlExecutor {
  const candidate = value as Partial<SqlExecutor> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    (candidate.kind === 'pg' || candidate.kind === 'pglite') &&
    typeof candidate.transaction === 'function' &&
    typeof candidate.query === 'function'
  );
}

/**
 * Checks that the options of `owner` are an object (not null, not a connection string passed the
 * old way) and returns them; `expected` names its keys for the message.
 */
export function assertOptionsObject<T>(options: T, expected: string): T {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError('options', `expected ${expected}.`);
  }
  return options;
}

/**
 * The executor of one store over `connection`: one made here (and closed with the store) from a
 * connection string, a pool or PGlite, or the executor passed in (left open: it is the caller's).
 */
export function openStoreExecutor(
  connection: PostgresConnection,
  store: string,
  beforeRelease?: () => Promise<void>,
): StoreExecutor {
  const owns = !isSqlExecutor(connection);
  return storeExecutor(createSqlExecutor(connection), store, owns, beforeRelease);
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
