import { InvalidArgumentError, type ProjectionLease, type ProjectionLock } from '@es/core';
import { assertPositiveInteger, assertStreamId } from '@es/core/adapter';
import pg from 'pg';
import { assertOptionsObject, isSqlExecutor, type PostgresConnection } from '../connection/connection.js';
import { wrapDriverError } from '../connection/driver-errors.js';
import { executorSource } from '../connection/executor-source.js';
import type { PgClientLike, PgPoolLike } from '../connection/pg-executor.js';
import { isPGliteLike, type PGliteLike } from '../connection/pglite-executor.js';

/** Options of {@link PostgresProjectionLock}. */
export interface PostgresProjectionLockOptions {
  /**
   * A connection string (the lock opens a `pg.Pool` and closes it in `close()`), a `pg.Pool`, a
   * PGlite instance, or an executor from `createSqlExecutor`. One you pass stays yours.
   */
  readonly connection: PostgresConnection;
  /** Part of the lock key, so applications sharing a database do not block each other. Defaults to `"public"`. */
  readonly namespace?: string;
  /** How often the holder checks that its connection (and so its lock) is alive. Defaults to 2,000 ms. */
  readonly heartbeatMs?: number;
}

/** Keys held through each PGlite instance: one session, in which advisory locks are re-entrant. */
const heldOnPGlite = new WeakMap<PGliteLike, Set<string>>();

/**
 * Keeps one instance of a projection active across processes with a PostgreSQL session-level
 * advisory lock, held on a dedicated connection. When the holder dies (process killed, connection
 * lost) the server releases the lock, and a standby instance takes over at its next try. The
 * holder learns of a lost connection at once (connection error) or at the next heartbeat.
 * Use it as `lock` of a `Projection` (@es/replay).
 *
 * On PGlite (one session, opened by one process at a time) the advisory lock is taken in that
 * session, and the lock also keeps count of the keys it holds there, since a session may take its
 * own advisory lock again: a second instance in the same process waits as it would on a server.
 *
 * @example
 * const lock = new PostgresProjectionLock({ connection: pool });
 * const projection = new Projection({ name: 'balances', eventStore, readModel, handler, lock });
 */
export class PostgresProjectionLock implements ProjectionLock {
  readonly #pool: PgPoolLike | undefined;
  readonly #pglite: PGliteLike | undefined;
  readonly #ownsPool: boolean;
  readonly #namespace: string;
  readonly #heartbeatMs: number;

  constructor(options: PostgresProjectionLockOptions) {
    assertOptionsObject(options, '{ connection, namespace?, heartbeatMs? }');
    // Left out, an option takes its default; any other value (null included) is checked as given.
    const namespace = options.namespace === undefined ? 'public' : options.namespace;
    assertStreamId(namespace, 'namespace');
    const heartbeatMs = options.heartbeatMs === undefined ? 2000 : options.heartbeatMs;
    assertPositiveInteger(heartbeatMs, 'heartbeatMs');
    const connection: unknown = isSqlExecutor(options.connection)
      ? executorSource(options.connection)
      : options.connection;
    this.#ownsPool = false;
    if (typeof connection === 'string') {
      if (connection.length === 0)
        throw new InvalidArgumentError('connection', 'the connection string is empty.');
      const pool = new pg.Pool({ connectionString: connection });
      pool.on('error', () => undefined);
      this.#pool = pool as unknown as PgPoolLike;
      this.#ownsPool = true;
    } else if (isPGliteLike(connection)) {
      this.#pglite = connection;
    } else if (
      typeof connection === 'object' &&
      connection !== null &&
      typeof (connection as PgPoolLike).connect === 'function'
    ) {
      this.#pool = connection as PgPoolLike;
    } else {
      throw new InvalidArgumentError(
        'connection',
        'expected a connection string, a pg.Pool, a PGlite instance or an executor from createSqlExecutor.',
      );
    }
    this.#namespace = namespace;
    this.#heartbeatMs = heartbeatMs;
  }

  /** Tries once to take the lock of `subscriptionId`; `undefined` while another session holds it. */
  async tryAcquire(subscriptionId: string, signal: AbortSignal): Promise<ProjectionLease | undefined> {
    assertStreamId(subscriptionId, 'subscription id');
    if (signal.aborted) return undefined;
    const key = `@es/replay projection lock ${this.#namespace} ${subscriptionId}`;
    if (this.#pglite) return tryAcquireOnPGlite(this.#pglite, key, subscriptionId, signal);
    const pool = this.#pool!;
    let client: PgClientLike;
    try {
      client = await pool.connect();
    } catch (error) {
      throw wrapDriverError(error, `connect to lock projection "${subscriptionId}"`);
    }
    let acquired: boolean;
    try {
      const { rows } = await client.query({
        text: 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
        values: [key],
      });
      acquired = (rows[0] as { ok: boolean } | undefined)?.ok === true;
    } catch (error) {
      client.release(error as Error);
      throw wrapDriverError(error, `lock projection "${subscriptionId}"`);
    }
    if (!acquired) {
      client.release();
      return undefined;
    }
    return holdLease(client, key, subscriptionId, this.#heartbeatMs, signal);
  }

  /** Closes the pool if this lock opened it (from a connection string). */
  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool!.end();
  }
}

async function tryAcquireOnPGlite(
  db: PGliteLike,
  key: string,
  subscriptionId: string,
  signal: AbortSignal,
): Promise<ProjectionLease | undefined> {
  const held = heldOnPGlite.get(db) ?? new Set<string>();
  heldOnPGlite.set(db, held);
  if (held.has(key)) return undefined;
  held.add(key);
  let acquired: boolean;
  try {
    const { rows } = await db.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
      [key],
    );
    acquired = rows[0]?.ok === true;
  } catch (error) {
    held.delete(key);
    throw wrapDriverError(error, `lock projection "${subscriptionId}"`);
  }
  if (!acquired) {
    held.delete(key);
    return undefined;
  }
  const lost = new AbortController();
  let done = false;
  signal.addEventListener(
    'abort',
    () => {
      if (done) return;
      done = true;
      held.delete(key);
      // The session stays open: give the advisory lock back, best effort.
      db.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => undefined);
      lost.abort(new Error(`The lock on projection "${subscriptionId}" was abandoned.`));
    },
    { once: true },
  );
  return {
    lost: lost.signal,
    release: async () => {
      if (done) return;
      done = true;
      try {
        await db.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
      } finally {
        held.delete(key);
        lost.abort(new Error(`The lock on projection "${subscriptionId}" was released.`));
      }
    },
  };
}

function holdLease(
  client: PgClientLike,
  key: string,
  subscriptionId: string,
  heartbeatMs: number,
  signal: AbortSignal,
): ProjectionLease {
  const lost = new AbortController();
  let done = false;
  // The connection is gone (or abandoned): so is the lock, which the server frees with the session.
  const drop = (reason: Error) => {
    if (done) return;
    done = true;
    clearInterval(timer);
    client.release(reason);
    lost.abort(reason);
  };
  const timer = setInterval(() => {
    client.query({ text: 'SELECT 1' }).catch((error: Error) => drop(error));
  }, heartbeatMs);
  timer.unref();
  client.on('error', (error) => drop(error));
  signal.addEventListener(
    'abort',
    () => drop(new Error(`The lock on projection "${subscriptionId}" was abandoned.`)),
    { once: true },
  );
  return {
    lost: lost.signal,
    release: async () => {
      if (done) return;
      done = true;
      clearInterval(timer);
      try {
        await client.query({ text: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))', values: [key] });
      } finally {
        // Not back to the pool: the connection carries our listeners; closing it frees the lock anyway.
        client.release(true);
      }
      lost.abort(new Error(`The lock on projection "${subscriptionId}" was released.`));
    },
  };
}
