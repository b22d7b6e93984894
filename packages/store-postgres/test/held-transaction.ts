import type pg from 'pg';

/**
 * One pooled connection inside an open transaction, for tests that make a lock observable: a store
 * built on `connection` runs every statement in that transaction, and `blockedOrFinished` tells
 * whether other work waits on a lock it holds. Release it with `end()` (rolls back if still open).
 */
export interface HeldTransaction {
  /** The held connection: `COMMIT` or `ROLLBACK` it to release its locks. */
  readonly client: pg.PoolClient;
  /** A `pg.Pool` stand-in whose every query runs on `client`, inside its open transaction. */
  readonly connection: pg.Pool;
  /**
   * Resolves 'blocked' once some backend waits on a lock the held transaction holds, or 'finished'
   * if `work` settles first (the lock under test is missing).
   */
  blockedOrFinished(work: Promise<unknown>): Promise<'blocked' | 'finished'>;
  /** Rolls back what is still open and returns the connection to the pool. */
  end(): Promise<void>;
}

/** Takes a connection from `pool`, begins a transaction on it, and watches its locks through `pool`. */
export async function holdTransaction(pool: pg.Pool): Promise<HeldTransaction> {
  const client = await pool.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await client.query('BEGIN');
  const connection = {
    query: (config: pg.QueryConfig) => client.query(config),
    connect: () => Promise.reject(new Error('one connection only')),
    end: async () => undefined,
  } as unknown as pg.Pool;
  const blockedOrFinished = async (work: Promise<unknown>): Promise<'blocked' | 'finished'> => {
    let settled = false;
    const finished = work.then(
      () => 'finished' as const,
      () => 'finished' as const,
    );
    void finished.then(() => {
      settled = true;
    });
    const blocked = (async () => {
      while (!settled) {
        const { rows } = await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND $1 = ANY(pg_blocking_pids(pid))',
          [pid],
        );
        if (rows[0]!.n > 0) return 'blocked' as const;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return 'finished' as const;
    })();
    return Promise.race([finished, blocked]);
  };
  return {
    client,
    connection,
    blockedOrFinished,
    end: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    },
  };
}
