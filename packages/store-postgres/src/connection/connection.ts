import { InvalidArgumentError, StoreClosedError } from '@es/core';
import { createPgExecutor, type PgPoolLike } from './pg-executor.js';
import { createPGliteExecutor, isPGliteLike, type PGliteLike } from './pglite-executor.js';
import type { SqlExecutor, SqlQuery, SqlSession } from './sql-executor.js';

/**
 * Where the data lives, the `connection` option of every store, lock and `migrate()` of this
 * package: a connection string (`postgres://user@host/db`; the store opens and closes its own
 * pool), a `pg.Pool` you own, a PGlite instance you own, or an executor from
 * {@link createSqlExecutor} (to share one pool between several stores; it stays yours).
 */
export type PostgresConnection = string | PgPoolLike | PGliteLike | SqlExecutor;

/**
 * How statements reach the server; accepted by {@link createSqlExecutor} and by the options of every
 * PostgreSQL store and lock of this package, so a user behind a connection pooler sets it once.
 */
export interface PostgresConnectionOptions {
  /**
   * Whether hot statements are sent as named prepared statements (parsed once per connection).
   * Defaults to `true`. Set it to `false` behind a pooler in transaction mode that does not track
   * prepared statements (PgBouncer before 1.21, or with `max_prepared_statements = 0`): a statement
   * prepared on one server connection is unknown on the next one the pooler hands out. Every
   * statement then goes as an unnamed one, which poolers pass through; reads and appends behave the
   * same, at the cost of a parse per call.
   */
  readonly preparedStatements?: boolean;
}

/**
 * Builds the SQL executor for a connection; used by every PostgreSQL store of this package. Given
 * an executor, returns it as it is (or, with `preparedStatements: false`, a view of it that sends
 * no named statement).
 *
 * @example
 * // One pool behind PgBouncer (transaction mode), shared by several stores:
 * const sql = createSqlExecutor(process.env.DATABASE_URL!, { preparedStatements: false });
 * const events = new PostgresEventStore({ connection: sql, notify: false });
 */
export function createSqlExecutor(
  connection: PostgresConnection,
  options: PostgresConnectionOptions = {},
): SqlExecutor {
  const prepared = preparedStatementsOption(options);
  const executor = executorFor(connection);
  return prepared ? executor : withoutStatementNames(executor);
}

/** Reads and checks `preparedStatements` of a store's or executor's options; `true` when left out. */
export function preparedStatementsOption(options: PostgresConnectionOptions | undefined): boolean {
  const value = options?.preparedStatements;
  if (value === undefined) return true;
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError(
      'preparedStatements',
      'expected true or false; leave it out for the default (true), set false behind a connection pooler in transaction mode.',
    );
  }
  return value;
}

// Marks the executors that already send no named statement, so wrapping twice is a no-op.
const UNNAMED = Symbol('@es/store-postgres unnamed statements');

/** `executor` with the `name` of every query dropped: nothing is prepared under a name. */
function withoutStatementNames(executor: SqlExecutor): SqlExecutor {
  if ((executor as { [UNNAMED]?: true })[UNNAMED]) return executor;
  const unnamed = (session: SqlSession): SqlSession => ({
    query: <Row>(query: SqlQuery) =>
      session.query<Row>(query.name === undefined ? query : { ...query, name: undefined }),
    exec: (script) => session.exec(script),
  });
  const wrapped: SqlExecutor & { [UNNAMED]: true } = {
    [UNNAMED]: true,
    kind: executor.kind,
    ...unnamed(executor),
    transaction: (work) => executor.transaction((session) => work(unnamed(session))),
    listen: (channel, onNotify) => executor.listen(channel, onNotify),
    close: () => executor.close(),
  };
  return wrapped;
}

function executorFor(connection: PostgresConnection): SqlExecutor {
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
  options: PostgresConnectionOptions = {},
  beforeRelease?: () => Promise<void>,
): StoreExecutor {
  const owns = !isSqlExecutor(connection);
  return storeExecutor(createSqlExecutor(connection, options), store, owns, beforeRelease);
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
