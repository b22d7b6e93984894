import { InvalidArgumentError } from '@es/core';
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
