import { assertPositiveInteger, assertStreamId, InvalidArgumentError } from '@es/core';
import pg from 'pg';
import { wrapDriverError } from '../connection/driver-errors.js';
import type { PgClientLike, PgPoolLike } from '../connection/pg-executor.js';
import type { PostgresProjectionLease } from './postgres-projection-types.js';

/** Options of {@link PostgresProjectionLock}. */
export interface PostgresProjectionLockOptions {
  /** Part of the lock key, so applications sharing a database do not block each other. Defaults to `"public"`. */
  readonly namespace?: string;
  /** How often the holder checks that its connection (and so its lock) is alive. Defaults to 2,000 ms. */
  readonly heartbeatMs?: number;
}

/**
 * Keeps one instance of a projection active across processes with a PostgreSQL session-level
 * advisory lock, held on a dedicated connection. When the holder dies (process killed, connection
 * lost) the server releases the lock, and a standby instance takes over at its next try. The
 * holder learns of a lost connection at once (connection error) or at the next heartbeat.
 * Use it as `lock` of a `Projection` (@es/replay). Needs a server: PGlite is a single session,
 * in which advisory locks do not exclude anyone.
 *
 * @example
 * const lock = new PostgresProjectionLock(pool);
 * const projection = new Projection({ name: 'balances', eventStore, store, handler, lock });
 */
export class PostgresProjectionLock {
  readonly #pool: PgPoolLike;
  readonly #ownsPool: boolean;
  readonly #namespace: string;
  readonly #heartbeatMs: number;

  constructor(connection: string | PgPoolLike, options: PostgresProjectionLockOptions = {}) {
    // Left out, an option takes its default; any other value (null included) is checked as given.
    const namespace = options.namespace === undefined ? 'public' : options.namespace;
    assertStreamId(namespace, 'namespace');
    const heartbeatMs = options.heartbeatMs === undefined ? 2000 : options.heartbeatMs;
    assertPositiveInteger(heartbeatMs, 'heartbeatMs');
    if (typeof connection === 'string') {
      if (connection.length === 0)
        throw new InvalidArgumentError('connection', 'the connection string is empty.');
      const pool = new pg.Pool({ connectionString: connection });
      pool.on('error', () => undefined);
      this.#pool = pool as unknown as PgPoolLike;
    } else if (connection && typeof connection.connect === 'function') {
      this.#pool = connection;
    } else {
      throw new InvalidArgumentError('connection', 'expected a connection string or a pg.Pool (not PGlite).');
    }
    this.#ownsPool = typeof connection === 'string';
    this.#namespace = namespace;
    this.#heartbeatMs = heartbeatMs;
  }

  /** Tries once to take the lock of `subscriptionId`; `undefined` while another session holds it. */
  async tryAcquire(
    subscriptionId: string,
    signal: AbortSignal,
  ): Promise<PostgresProjectionLease | undefined> {
    assertStreamId(subscriptionId, 'subscription id');
    if (signal.aborted) return undefined;
    const key = `@es/replay projection lock ${this.#namespace} ${subscriptionId}`;
    let client: PgClientLike;
    try {
      client = await this.#pool.connect();
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
    if (this.#ownsPool) await this.#pool.end();
  }
}

function holdLease(
  client: PgClientLike,
  key: string,
  subscriptionId: string,
  heartbeatMs: number,
  signal: AbortSignal,
): PostgresProjectionLease {
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
