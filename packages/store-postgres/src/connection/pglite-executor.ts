import type { SqlExecutor, SqlSession } from './sql-executor.js';

interface PGliteQueryable {
  query<T>(
    query: string,
    params?: unknown[],
    options?: { rowMode?: 'array' | 'object' },
  ): Promise<{ rows: T[] }>;
  exec(query: string): Promise<unknown>;
}

/** The part of a PGlite instance the store uses; any `PGlite` from `@electric-sql/pglite` fits. */
export interface PGliteLike extends PGliteQueryable {
  readonly waitReady: Promise<void>;
  transaction<T>(callback: (tx: PGliteQueryable) => Promise<T>): Promise<T>;
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/** True when `value` looks like a PGlite instance rather than a `pg.Pool`. */
export function isPGliteLike(value: unknown): value is PGliteLike {
  const candidate = value as Partial<PGliteLike> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.exec === 'function' &&
    typeof candidate.listen === 'function' &&
    typeof candidate.transaction === 'function' &&
    'waitReady' in candidate
  );
}

function session(target: PGliteQueryable): SqlSession {
  return {
    query: async <Row>(query: { text: string; values?: readonly unknown[]; rowMode?: 'array' }) =>
      (
        await target.query<Row>(
          query.text,
          query.values as unknown[] | undefined,
          query.rowMode ? { rowMode: query.rowMode } : undefined,
        )
      ).rows,
    exec: async (script: string) => {
      await target.exec(script);
    },
  };
}

/**
 * Creates the executor for an embedded PGlite database. PGlite is a single session that runs one
 * statement (or one transaction) at a time; the caller keeps ownership of the instance.
 */
export function createPGliteExecutor(db: PGliteLike): SqlExecutor {
  return {
    kind: 'pglite',
    ...session(db),
    transaction: (work) => db.transaction((tx) => work(session(tx))),
    listen: async (channel, onNotify) => db.listen(channel, () => onNotify()),
    close: async () => undefined,
  };
}
