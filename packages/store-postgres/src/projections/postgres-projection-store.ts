import {
  InvalidArgumentError,
  isEventSourcingError,
  type LeaseFence,
  LeaseLostError,
  type ParkedEvent,
  type Position,
  type ProjectionBatch,
  type ProjectionStore,
} from '@es/core';
import { assertLeaseArguments, assertPosition, assertStreamId } from '@es/core/adapter';
import {
  assertOptionsObject,
  openStoreExecutor,
  type PostgresConnection,
  type PostgresConnectionOptions,
  type StoreExecutor,
} from '../connection/connection.js';
import { isConnectionFailure, wrapDriverError } from '../connection/driver-errors.js';
import type { SqlSession } from '../connection/sql-executor.js';
import { markForRetry, selectParked, selectParkedNamed, unmarkAfterFailure } from './parked-rows.js';
import { checkpointTables, compareAndSet, loadCheckpoint } from './postgres-checkpoint-store.js';
import { FENCE_HELD, fenceValues, leaseTables } from './postgres-partition-lease-store.js';

/** Options of {@link PostgresProjectionStore}. */
export interface PostgresProjectionStoreOptions extends PostgresConnectionOptions {
  /**
   * A connection string (the store opens a `pg.Pool` and closes it in `close()`), a `pg.Pool`, a
   * PGlite instance, or an executor from `createSqlExecutor`. One you pass stays yours. The read
   * model must live in the same database: the handler writes it in the batch's transaction.
   */
  readonly connection: PostgresConnection;
  /**
   * Schema holding `es_checkpoints` and `es_parked_events` (migration 003), and the lease tables
   * (migration 006) whose fences `commitBatch` checks. Defaults to `"public"`.
   */
  readonly schema?: string;
}

/** What a projection handler receives as context from {@link PostgresProjectionStore}: the batch's transaction. */
export type PostgresProjectionContext = SqlSession;

/**
 * Exactly-once projections into a read model in the same PostgreSQL database. Each batch runs in
 * one transaction: the handler writes through the `SqlSession` it receives as context, each attempt
 * inside a savepoint opened by its first statement (a failed attempt leaves no trace), poison
 * events are parked in the same transaction, and the checkpoint moves in it too. A crash anywhere rolls the whole batch back, so
 * every event changes the read model exactly once.
 *
 * The batch first takes a transaction-scoped advisory lock on the subscription and checks that the
 * checkpoint is where this instance left it; if another instance moved it (a lease that lapsed),
 * nothing is written and the projection reloads. Use it as `readModel` of a `Projection` (@es/replay).
 *
 * A batch of a consumer group carries a fence (its partition's lease, from a
 * `PostgresPartitionLeaseStore` on the same database and schema): the transaction first locks the
 * lease row and checks that the lease is still held, by the server's clock, and rejects with
 * `LeaseLostError`, writing nothing, when it is not. It looks once before the work and checks
 * again, locking the row (`FOR KEY SHARE`), just before the checkpoint moves: a takeover during
 * the work makes the batch roll back, one tried after the lock waits until the batch has committed,
 * and the holder's renewals go on meanwhile. Locking only at the end keeps the batch from holding
 * a transaction id (and so holding back followers of the log) before its handler writes.
 *
 * @example
 * const projection = new Projection({
 *   name: 'balances', eventStore, readModel: new PostgresProjectionStore({ connection: pool }),
 *   handler: async (event, sql) => {
 *     await sql.query({ text: 'UPDATE balances SET amount = amount + $2 WHERE id = $1', values: [event.streamId, 1] });
 *   },
 * });
 */
export class PostgresProjectionStore implements ProjectionStore<PostgresProjectionContext> {
  readonly #executor: StoreExecutor;
  readonly #checkpoints: string;
  readonly #parked: string;
  readonly #leases: string;

  constructor(options: PostgresProjectionStoreOptions) {
    assertOptionsObject(options, '{ connection, schema?, preparedStatements? }');
    // Names are checked before the connection is touched: a hostile name never reaches SQL.
    const tables = checkpointTables(options.schema === undefined ? 'public' : options.schema);
    this.#checkpoints = tables.checkpoints;
    this.#parked = tables.parked;
    this.#leases = leaseTables(options.schema === undefined ? 'public' : options.schema).leases;
    this.#executor = openStoreExecutor(options.connection, 'PostgresProjectionStore', options);
  }

  async load(subscriptionId: string): Promise<Position | undefined> {
    assertStreamId(subscriptionId, 'subscription id');
    return this.#run(`load the checkpoint of "${subscriptionId}"`, () =>
      loadCheckpoint(this.#executor, this.#checkpoints, subscriptionId),
    );
  }

  /**
   * Runs one batch in a transaction that also moves the checkpoint from `expected` to `position`.
   * Returns false, having written nothing, when the checkpoint was not `expected`. With a `fence`,
   * rejects with `LeaseLostError`, having written nothing, when that lease is no longer held.
   */
  async commitBatch(
    subscriptionId: string,
    expected: Position | undefined,
    position: Position,
    work: (batch: ProjectionBatch<SqlSession>) => Promise<void>,
    fence?: LeaseFence,
  ): Promise<boolean> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    if (fence !== undefined) assertLeaseArguments(fence.group, fence.partition);
    let handlerFailure: { error: unknown } | undefined;
    try {
      return await this.#executor.transaction(async (session) => {
        const lockKey = `@es/replay projection ${this.#checkpoints} ${subscriptionId}`;
        // A transaction-scoped advisory lock ends with the transaction, which runs on one server
        // connection from BEGIN to COMMIT, so it is safe behind a pooler in transaction mode too
        // (only session-level advisory locks are not): nothing outlives the transaction.
        if (fence === undefined) {
          await session.query({
            text: 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))',
            values: [lockKey],
          });
        } else {
          // With a fence, the same statement first looks at the lease without a row lock: a lost
          // lease is refused before any wait or work, and the look takes no transaction id, so
          // until the handler writes this batch holds back no follower's reads.
          await this.#lockIfHeld(session, fence, lockKey);
        }
        const current = await loadCheckpoint(session, this.#checkpoints, subscriptionId);
        if (current !== expected) return false;
        try {
          await work(this.#batch(session, subscriptionId));
        } catch (error) {
          handlerFailure = { error };
          throw error;
        }
        if (fence === undefined)
          return compareAndSet(session, this.#checkpoints, subscriptionId, expected, position);
        // The binding check, locked, in the statement that moves the checkpoint: a takeover that
        // happened during the work is seen here (and nothing is kept); one tried from now on
        // waits for COMMIT.
        return this.#moveFenced(session, fence, subscriptionId, expected, position);
      });
    } catch (error) {
      // The batch's own failure (e.g. the projection was aborted) passes through unwrapped.
      if (handlerFailure?.error === error || isEventSourcingError(error)) throw error;
      throw wrapDriverError(error, `commit a batch of "${subscriptionId}"`);
    }
  }

  async reset(subscriptionId: string): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    await this.#run(`reset "${subscriptionId}"`, () =>
      this.#executor.query({
        text: `DELETE FROM ${this.#checkpoints} WHERE subscription_id = $1`,
        values: [subscriptionId],
      }),
    );
  }

  async listParked(subscriptionId: string): Promise<ParkedEvent[]> {
    assertStreamId(subscriptionId, 'subscription id');
    return this.#run(`list the parked events of "${subscriptionId}"`, () =>
      selectParked(this.#executor, this.#parked, [subscriptionId], { marked: false }),
    );
  }

  /**
   * Parked events across subscriptions, for tools (`es parked list`, the web console): every
   * subscription's, or those of `name` only (a subscription id, or a consumer group's name: all its
   * partitions), ordered by subscription and position, at most `limit` when given.
   *
   * @example
   * for (const event of await store.listAllParked({ name: 'stock' })) console.log(event.subscriptionId, event.position);
   */
  async listAllParked(options: { name?: string; limit?: number } = {}): Promise<ParkedEvent[]> {
    if (options.name !== undefined) assertStreamId(options.name, 'subscription or group name');
    if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 1)) {
      throw new InvalidArgumentError(
        'limit',
        `expected a positive whole number, got ${String(options.limit)}.`,
      );
    }
    return this.#run('list parked events', () => selectParkedNamed(this.#executor, this.#parked, options));
  }

  async removeParked(subscriptionId: string, position: Position): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    await this.#run(`remove a parked event of "${subscriptionId}"`, () =>
      this.#executor.query({
        text: `DELETE FROM ${this.#parked} WHERE subscription_id = $1 AND position = $2`,
        values: [subscriptionId, position.toString()],
      }),
    );
  }

  /**
   * Asks the worker that owns the subscription to handle a parked event again (see
   * `ParkedRetryRequests`); false when no such event is parked. Needs migration 010.
   */
  async requestRetry(subscriptionId: string, position: Position): Promise<boolean> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    return this.#run(`request a retry of a parked event of "${subscriptionId}"`, () =>
      markForRetry(this.#executor, this.#parked, subscriptionId, position),
    );
  }

  /** The parked events of these subscriptions marked for a retry, in position order. */
  async listRetryRequests(subscriptionIds: readonly string[]): Promise<ParkedEvent[]> {
    for (const id of subscriptionIds) assertStreamId(id, 'subscription id');
    if (subscriptionIds.length === 0) return [];
    return this.#run('list the parked events marked for a retry', () =>
      selectParked(this.#executor, this.#parked, subscriptionIds, { marked: true }),
    );
  }

  /** A requested retry failed again: counts the attempt, keeps `error`, clears the mark. */
  async recordRetryFailure(subscriptionId: string, position: Position, error: string): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    await this.#run(`record a failed retry of a parked event of "${subscriptionId}"`, () =>
      unmarkAfterFailure(this.#executor, this.#parked, subscriptionId, position, error),
    );
  }

  /**
   * Closes the connection pool if this store opened it (from a connection string). Every later call
   * fails with `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#executor.close();
  }

  /** Takes the subscription's advisory lock if the lease is held (looked at without a row lock). */
  async #lockIfHeld(session: SqlSession, fence: LeaseFence, lockKey: string): Promise<void> {
    const rows = await session.query<{ held: boolean }>({
      text: `SELECT held, CASE WHEN held THEN pg_advisory_xact_lock(hashtextextended($4, 0)) IS NULL END AS locked
             FROM (SELECT EXISTS (SELECT 1 FROM ${this.#leases} WHERE ${FENCE_HELD}) AS held) AS lease`,
      values: [...fenceValues(fence), lockKey],
    });
    if (rows[0]?.held !== true) throw new LeaseLostError(fence.group, fence.partition, fence.token);
  }

  // FOR KEY SHARE conflicts with the exclusive row lock a takeover takes (acquire sets `token`, a
  // key column by migration 006's unique constraint), so a new owner waits for this commit; it does
  // not conflict with a renewal or a release, which set only `expires_at` and `owner`. The
  // checkpoint moves in the same statement, and only while the lease is held: one round trip.
  async #moveFenced(
    session: SqlSession,
    fence: LeaseFence,
    subscriptionId: string,
    expected: Position | undefined,
    position: Position,
  ): Promise<boolean> {
    const move =
      expected === undefined
        ? `INSERT INTO ${this.#checkpoints} (subscription_id, position)
           SELECT $4, $5 WHERE EXISTS (SELECT 1 FROM fence)
           ON CONFLICT (subscription_id) DO NOTHING RETURNING 1`
        : `UPDATE ${this.#checkpoints} SET position = $5, updated_at = now()
           WHERE subscription_id = $4 AND position = $6 AND EXISTS (SELECT 1 FROM fence) RETURNING 1`;
    const rows = await session.query<{ held: boolean; moved: boolean }>({
      text: `WITH fence AS MATERIALIZED (SELECT 1 FROM ${this.#leases} WHERE ${FENCE_HELD} FOR KEY SHARE),
                  moved AS (${move})
             SELECT EXISTS (SELECT 1 FROM fence) AS held, EXISTS (SELECT 1 FROM moved) AS moved`,
      values: [
        ...fenceValues(fence),
        subscriptionId,
        position.toString(),
        ...(expected === undefined ? [] : [expected.toString()]),
      ],
    });
    if (rows[0]?.held !== true) throw new LeaseLostError(fence.group, fence.partition, fence.token);
    return rows[0].moved === true;
  }

  #batch(session: SqlSession, subscriptionId: string): ProjectionBatch<SqlSession> {
    // A failure of the transaction itself (its connection dropped) is the store's, reported as
    // EventStoreUnavailableError: the projection retries the batch without spending the handler's
    // attempts, which could not succeed on a dead connection anyway.
    const statement = async (script: string) => {
      try {
        await session.exec(script);
      } catch (error) {
        throw this.#storeFault(error, subscriptionId);
      }
    };
    return {
      attempt: async (run: (context: SqlSession) => Promise<void>) => {
        // The savepoint is opened by the attempt's first statement, not before: a handler that
        // only folds events in memory (and writes once per batch) costs no round trip per event.
        let savepoint: Promise<void> | undefined;
        const open = () => (savepoint ??= statement('SAVEPOINT es_projection_attempt'));
        const guarded: SqlSession = {
          query: async (query) => {
            await open();
            return session.query(query);
          },
          exec: async (script) => {
            await open();
            return session.exec(script);
          },
        };
        try {
          await run(guarded);
        } catch (error) {
          if (!isEventSourcingError(error) && isConnectionFailure(error)) {
            throw this.#storeFault(error, subscriptionId);
          }
          // Nothing to undo when the attempt sent no statement.
          if (savepoint) {
            // A savepoint that could not be opened is the store's fault, already in `error`.
            if (
              !(await savepoint.then(
                () => true,
                () => false,
              ))
            )
              throw error;
            await statement('ROLLBACK TO SAVEPOINT es_projection_attempt');
          }
          throw error;
        }
        if (savepoint) await statement('RELEASE SAVEPOINT es_projection_attempt');
      },
      park: async (event: ParkedEvent) => {
        await session.query({
          text: `INSERT INTO ${this.#parked}
                   (subscription_id, position, event_id, stream_id, event_type, error, attempts, parked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (subscription_id, position) DO NOTHING`,
          values: [
            event.subscriptionId,
            event.position.toString(),
            event.eventId,
            event.streamId,
            event.eventType,
            event.error,
            event.attempts,
            event.parkedAt,
          ],
        });
      },
      unpark: async (position: Position) => {
        assertPosition(position);
        await session.query({
          text: `DELETE FROM ${this.#parked} WHERE subscription_id = $1 AND position = $2`,
          values: [subscriptionId, position.toString()],
        });
      },
    };
  }

  #storeFault(error: unknown, subscriptionId: string): unknown {
    if (isEventSourcingError(error)) return error;
    return wrapDriverError(error, `handle a batch of "${subscriptionId}"`);
  }

  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isEventSourcingError(error)) throw error;
      throw wrapDriverError(error, operation);
    }
  }
}
