import type { PgPoolLike } from './pg-executor.js';
import type { PGliteLike } from './pglite-executor.js';
import type { SqlExecutor } from './sql-executor.js';

// What an executor made by this package runs on, for the one class that needs more than an
// executor offers: PostgresProjectionLock holds a session of its own (a pooled client, or PGlite).
const sources = new WeakMap<SqlExecutor, PgPoolLike | PGliteLike>();

/** Records the pool or PGlite instance `executor` runs on. */
export function recordExecutorSource<E extends SqlExecutor>(executor: E, source: PgPoolLike | PGliteLike): E {
  sources.set(executor, source);
  return executor;
}

/** The pool or PGlite instance an executor of this package runs on; `undefined` for any other executor. */
export function executorSource(executor: SqlExecutor): PgPoolLike | PGliteLike | undefined {
  return sources.get(executor);
}
