// One small interface over the three things a user can hand the store: a connection string, a
// `pg.Pool`, or a PGlite instance. Every SQL statement of this package goes through it, so the
// server and the embedded database run exactly the same SQL.

/** A parameterised statement. `name` makes `pg` prepare it once per connection (PGlite ignores it). */
export interface SqlQuery {
  readonly text: string;
  readonly values?: readonly unknown[];
  /** A stable name for a hot statement; the same name must always carry the same text. */
  readonly name?: string;
  /** `'array'` returns each row as an array of column values (cheaper for wide, hot reads). */
  readonly rowMode?: 'array';
}

/** Runs statements on one connection (inside a transaction) or on any pooled connection. */
export interface SqlSession {
  /** Runs one statement and returns its rows. */
  query<Row = Record<string, unknown>>(query: SqlQuery): Promise<Row[]>;
  /** Runs a script of several statements without parameters (a migration file). */
  exec(script: string): Promise<void>;
}

/** Stops a LISTEN started by {@link SqlExecutor.listen}. */
export type StopListening = () => Promise<void>;

/**
 * The SQL executor every PostgreSQL store of this package uses. Adapters built on the same
 * connection (snapshot store, checkpoint store) create theirs with `createSqlExecutor`.
 */
export interface SqlExecutor extends SqlSession {
  /** `'pg'` for a server, `'pglite'` for the embedded database. */
  readonly kind: 'pg' | 'pglite';
  /** Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * LISTENs on `channel` (a plain lower-case identifier) and calls `onNotify` for each
   * notification. On a server a dedicated connection is held; if it drops, the executor reconnects
   * and calls `onNotify` once, since notifications may have been missed meanwhile.
   */
  listen(channel: string, onNotify: () => void): Promise<StopListening>;
  /** Releases what the executor opened itself (the pool made from a connection string). */
  close(): Promise<void>;
}
