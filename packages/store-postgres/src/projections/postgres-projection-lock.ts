import { randomUUID } from 'node:crypto';
import {
  InvalidArgumentError,
  isEventSourcingError,
  type LeaseFence,
  type ProjectionLease,
  type ProjectionLock,
} from '@es/core';
import { assertPositiveInteger, assertStreamId } from '@es/core/adapter';
import {
  assertOptionsObject,
  openStoreExecutor,
  type PostgresConnection,
  type PostgresConnectionOptions,
  type StoreExecutor,
} from '../connection/connection.js';
import { wrapDriverError } from '../connection/driver-errors.js';
import { optionOr } from '../schema/identifiers.js';
import { leaseTables, PostgresPartitionLeaseStore } from './postgres-partition-lease-store.js';

/** Options of {@link PostgresProjectionLock}. */
export interface PostgresProjectionLockOptions extends PostgresConnectionOptions {
  /**
   * A connection string (the lock opens a `pg.Pool` and closes it in `close()`), a `pg.Pool`, a
   * PGlite instance, or an executor from `createSqlExecutor`. One you pass stays yours.
   */
  readonly connection: PostgresConnection;
  /** Part of the lease's name, so applications sharing a database do not block each other. Defaults to `"public"`. */
  readonly namespace?: string;
  /** Schema holding the lease tables (migration 006). Defaults to `"public"`. */
  readonly schema?: string;
  /**
   * How long a lease outlives a holder that stopped renewing it (crashed, cut off): a standby takes
   * over after at most this long. Defaults to 10,000 ms; must be larger than `heartbeatMs`.
   */
  readonly ttlMs?: number;
  /** How often the holder renews its lease. Defaults to 2,000 ms (or a quarter of a smaller `ttlMs`). */
  readonly heartbeatMs?: number;
}

const DEFAULT_TTL_MS = 10_000;
const DEFAULT_HEARTBEAT_MS = 2000;

/**
 * Keeps one instance of a projection active across processes with a lease in PostgreSQL: a row of
 * the lease table of migration 006 (a consumer group `projection-lock:<namespace>:<subscription>`
 * of one partition), timed by the server's clock. The holder renews it every `heartbeatMs`; when
 * the holder dies or is cut off, the lease lapses after `ttlMs` and a standby takes over at its
 * next try. The holder's `lost` signal fires when a renewal finds the lease gone, or when renewals
 * have failed for `ttlMs`. Nothing is tied to a session, so it works through PgBouncer in
 * transaction mode and on PGlite alike. Use it as `lock` of a `Projection` (@es/replay).
 *
 * @example
 * await migrate({ connection: pool });
 * const lock = new PostgresProjectionLock({ connection: pool, ttlMs: 10_000 });
 * const projection = new Projection({ name: 'balances', eventStore, readModel, handler, lock });
 */
export class PostgresProjectionLock implements ProjectionLock {
  readonly #executor: StoreExecutor;
  readonly #leases: PostgresPartitionLeaseStore;
  readonly #groups: string;
  readonly #namespace: string;
  readonly #ttlMs: number;
  readonly #heartbeatMs: number;

  constructor(options: PostgresProjectionLockOptions) {
    assertOptionsObject(
      options,
      '{ connection, namespace?, schema?, ttlMs?, heartbeatMs?, preparedStatements? }',
    );
    // Left out, an option takes its default; any other value (null included) is checked as given.
    const namespace = options.namespace === undefined ? 'public' : options.namespace;
    assertStreamId(namespace, 'namespace');
    const ttlMs = options.ttlMs === undefined ? DEFAULT_TTL_MS : options.ttlMs;
    assertPositiveInteger(ttlMs, 'ttlMs');
    const heartbeatMs =
      options.heartbeatMs === undefined
        ? Math.max(1, Math.min(DEFAULT_HEARTBEAT_MS, Math.floor(ttlMs / 4)))
        : options.heartbeatMs;
    assertPositiveInteger(heartbeatMs, 'heartbeatMs');
    if (heartbeatMs >= ttlMs) {
      throw new InvalidArgumentError(
        'heartbeatMs',
        `must be smaller than ttlMs (${ttlMs} ms), or the lease lapses between two renewals; a third of it or less is safe.`,
      );
    }
    const schema = optionOr(options.schema, 'public');
    // Names are checked before the connection is touched: a hostile name never reaches SQL.
    this.#groups = leaseTables(schema).groups;
    this.#executor = openStoreExecutor(options.connection, 'PostgresProjectionLock', options);
    this.#leases = new PostgresPartitionLeaseStore({ connection: this.#executor, schema: schema as string });
    this.#namespace = namespace;
    this.#ttlMs = ttlMs;
    this.#heartbeatMs = heartbeatMs;
  }

  /** Tries once to take the lease of `subscriptionId`; `undefined` while another holder's lease is alive. */
  async tryAcquire(subscriptionId: string, signal: AbortSignal): Promise<ProjectionLease | undefined> {
    assertStreamId(subscriptionId, 'subscription id');
    if (signal.aborted) return undefined;
    const group = `projection-lock:${this.#namespace}:${subscriptionId}`;
    // A holder per attempt: a second tryAcquire, even through this lock, is another instance.
    const holder = randomUUID();
    // The group of one partition exists before its lease is taken (no member rows: each attempt is
    // a holder of its own, and would leave one behind).
    try {
      await this.#executor.query({
        text: `INSERT INTO ${this.#groups} (group_name, partitions) VALUES ($1, 1)
               ON CONFLICT (group_name) DO NOTHING`,
        values: [group],
      });
    } catch (error) {
      if (isEventSourcingError(error)) throw error;
      throw wrapDriverError(error, `lock projection "${subscriptionId}"`);
    }
    const lease = await this.#leases.acquire(group, 0, holder, this.#ttlMs);
    if (!lease) return undefined;
    return holdLease(this.#leases, lease, subscriptionId, this.#ttlMs, this.#heartbeatMs, signal);
  }

  /** Closes the pool if this lock opened it (from a connection string). */
  async close(): Promise<void> {
    await this.#executor.close();
  }
}

function holdLease(
  leases: PostgresPartitionLeaseStore,
  fence: LeaseFence,
  subscriptionId: string,
  ttlMs: number,
  heartbeatMs: number,
  signal: AbortSignal,
): ProjectionLease {
  const lost = new AbortController();
  let done = false;
  let renewedAt = performance.now();
  let renewing = false;
  const stop = (reason: Error) => {
    if (done) return;
    done = true;
    clearInterval(timer);
    lost.abort(reason);
  };
  const timer = setInterval(async () => {
    if (renewing || done) return;
    renewing = true;
    try {
      if (await leases.renew(fence, ttlMs)) renewedAt = performance.now();
      else stop(new Error(`The lease on projection "${subscriptionId}" lapsed or was taken over.`));
    } catch (error) {
      // The database is out of reach: the lease may still be alive there, until ttlMs has passed.
      if (performance.now() - renewedAt >= ttlMs) {
        stop(
          new Error(`The lease on projection "${subscriptionId}" could not be renewed for ${ttlMs} ms.`, {
            cause: error,
          }),
        );
      }
    } finally {
      renewing = false;
    }
  }, heartbeatMs);
  timer.unref();
  // Abandoned as a crash would: no release, the lease lapses after ttlMs.
  signal.addEventListener(
    'abort',
    () => stop(new Error(`The lease on projection "${subscriptionId}" was abandoned.`)),
    { once: true },
  );
  return {
    lost: lost.signal,
    release: async () => {
      if (done) return;
      done = true;
      clearInterval(timer);
      try {
        await leases.release(fence);
      } finally {
        lost.abort(new Error(`The lease on projection "${subscriptionId}" was released.`));
      }
    },
  };
}
