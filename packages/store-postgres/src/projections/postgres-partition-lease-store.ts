import {
  type ConsumerGroupDescription,
  InvalidArgumentError,
  isEventSourcingError,
  type LeaseFence,
  type PartitionLease,
  type PartitionLeaseStore,
} from '@es/core';
import { assertLeaseArguments, assertPositiveInteger, assertSamePartitionCount } from '@es/core/adapter';
import {
  assertOptionsObject,
  openStoreExecutor,
  type PostgresConnection,
  type PostgresConnectionOptions,
  type StoreExecutor,
} from '../connection/connection.js';
import { sqlState, wrapDriverError } from '../connection/driver-errors.js';
import type { SqlSession } from '../connection/sql-executor.js';
import { assertSqlIdentifier, optionOr, quoteIdentifier } from '../schema/identifiers.js';

/** Options of {@link PostgresPartitionLeaseStore}. */
export interface PostgresPartitionLeaseStoreOptions extends PostgresConnectionOptions {
  /**
   * A connection string (the store opens a `pg.Pool` and closes it in `close()`), a `pg.Pool`, a
   * PGlite instance, or an executor from `createSqlExecutor`. One you pass stays yours. Give the
   * `PostgresProjectionStore` that checks the fences the same database.
   */
  readonly connection: PostgresConnection;
  /** Schema holding the lease tables (migration 006). Defaults to `"public"`. */
  readonly schema?: string;
}

/** The quoted tables of migration 006 in one schema. */
export interface LeaseTables {
  readonly groups: string;
  readonly members: string;
  readonly leases: string;
}

/** The lease tables of migration 006, validated and quoted for a schema. */
export function leaseTables(schema: unknown = 'public'): LeaseTables {
  assertSqlIdentifier(schema, 'schema');
  const quoted = quoteIdentifier(schema);
  return {
    groups: `${quoted}.es_consumer_groups`,
    members: `${quoted}.es_consumer_members`,
    leases: `${quoted}.es_partition_leases`,
  };
}

/** `$n` milliseconds from now on the server's clock (never the client's). */
const fromNow = (parameter: string) => `clock_timestamp() + ${parameter}::bigint * interval '1 millisecond'`;

/** The condition a lease row meets while `fence` ($1 group, $2 partition, $3 token) is held. */
export const FENCE_HELD =
  'group_name = $1 AND partition = $2 AND token = $3 AND owner IS NOT NULL AND expires_at > clock_timestamp()';

interface LeaseRow {
  partition: number;
  owner: string | null;
  token: string | number | bigint;
  expires_at: Date | string;
}

interface AcquireRow {
  partitions: number | null;
  owner: string | null;
  token: string | number | bigint | null;
  expires_at: Date | string | null;
}

/**
 * Consumer-group membership and partition leases in PostgreSQL (a server or PGlite), in the tables
 * of migration 006. Every lease is a row timed by the server's clock (`clock_timestamp()`), and
 * each call is one statement or one short transaction with no session state (no advisory lock, no
 * LISTEN, no temporary table), so it works through PgBouncer in transaction mode. Taking a partition
 * is a single `INSERT … ON CONFLICT DO UPDATE … WHERE` (free, lapsed or already the caller's): among
 * racing workers exactly one gets it. Fencing tokens only grow, across releases and resets.
 *
 * A `PostgresProjectionStore` on the same database checks a batch's fence in the batch's
 * transaction, so a worker whose lease lapsed cannot commit.
 *
 * @example
 * await migrate({ connection: process.env.DATABASE_URL! });
 * const leases = new PostgresPartitionLeaseStore({ connection: process.env.DATABASE_URL! });
 * const group = new ConsumerGroup({ name: 'stock', partitions: 8, eventStore, leases, readModel, handler });
 */
export class PostgresPartitionLeaseStore implements PartitionLeaseStore {
  readonly #executor: StoreExecutor;
  readonly #tables: LeaseTables;

  constructor(options: PostgresPartitionLeaseStoreOptions) {
    assertOptionsObject(options, '{ connection, schema?, preparedStatements? }');
    // Names are checked before the connection is touched: a hostile name never reaches SQL.
    this.#tables = leaseTables(optionOr(options.schema, 'public'));
    this.#executor = openStoreExecutor(options.connection, 'PostgresPartitionLeaseStore', options);
  }

  async heartbeat(group: string, workerId: string, partitions: number, ttlMs: number): Promise<string[]> {
    assertLeaseArguments(group, undefined, ttlMs, workerId);
    assertPositiveInteger(partitions, 'partitions');
    const { groups, members } = this.#tables;
    const live = await this.#run(`join consumer group "${group}" as "${workerId}"`, () =>
      this.#executor.transaction(async (sql) => {
        // DO NOTHING waits for a racing creator of the group to commit; the next statement sees it.
        await sql.query({
          text: `INSERT INTO ${groups} (group_name, partitions) VALUES ($1, $2) ON CONFLICT (group_name) DO NOTHING`,
          values: [group, partitions],
        });
        const rows = await sql.query<{ partitions: number }>({
          text: `SELECT partitions FROM ${groups} WHERE group_name = $1`,
          values: [group],
        });
        assertSamePartitionCount(
          group,
          rows[0] === undefined ? undefined : Number(rows[0].partitions),
          partitions,
        );
        await sql.query({
          text: `INSERT INTO ${members} (group_name, worker_id, expires_at) VALUES ($1, $2, ${fromNow('$3')})
                 ON CONFLICT (group_name, worker_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
          values: [group, workerId, ttlMs],
        });
        return sql.query<{ worker_id: string }>({
          text: `SELECT worker_id FROM ${members} WHERE group_name = $1 AND expires_at > clock_timestamp()`,
          values: [group],
        });
      }),
    );
    // Sorted here, not by the database's collation: every store sorts the same way.
    return live.map((row) => row.worker_id).sort(byCodeUnits);
  }

  async leave(group: string, workerId: string): Promise<void> {
    assertLeaseArguments(group, undefined, undefined, workerId);
    await this.#run(`leave consumer group "${group}" as "${workerId}"`, () =>
      this.#executor.query({
        text: `DELETE FROM ${this.#tables.members} WHERE group_name = $1 AND worker_id = $2`,
        values: [group, workerId],
      }),
    );
  }

  async acquire(
    group: string,
    partition: number,
    workerId: string,
    ttlMs: number,
  ): Promise<PartitionLease | undefined> {
    assertLeaseArguments(group, partition, ttlMs, workerId);
    const { groups, leases } = this.#tables;
    // One statement: the row lock of ON CONFLICT DO UPDATE serialises racing acquirers, and each
    // re-checks the WHERE against the row as the previous one left it, so one of them wins. The
    // token grows unless the caller already holds a live lease (then it is a renewal).
    const rows = await this.#run(`acquire partition ${partition} of consumer group "${group}"`, () =>
      retryFirstInsertRace(() =>
        this.#executor.query<AcquireRow>({
          text: `WITH g AS (SELECT partitions FROM ${groups} WHERE group_name = $1),
               taken AS (
                 INSERT INTO ${leases} AS l (group_name, partition, owner, token, expires_at)
                 SELECT $1, $2, $3, 1, ${fromNow('$4')} FROM g WHERE $2 < g.partitions
                 ON CONFLICT (group_name, partition) DO UPDATE SET
                   owner = EXCLUDED.owner,
                   token = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > clock_timestamp()
                                THEN l.token ELSE l.token + 1 END,
                   expires_at = EXCLUDED.expires_at
                 WHERE l.owner IS NULL OR l.owner = EXCLUDED.owner OR l.expires_at <= clock_timestamp()
                 RETURNING owner, token, expires_at)
               SELECT (SELECT partitions FROM g) AS partitions, taken.owner, taken.token, taken.expires_at
               FROM (SELECT 1) AS one LEFT JOIN taken ON true`,
          values: [group, partition, workerId, ttlMs],
        }),
      ),
    );
    const row = rows[0];
    if (row?.partitions === null || row?.partitions === undefined) {
      throw new InvalidArgumentError('consumer group', `"${group}" has no members: call heartbeat() first.`);
    }
    const partitions = Number(row.partitions);
    if (partition >= partitions) {
      throw new InvalidArgumentError('partition', `group "${group}" has partitions 0..${partitions - 1}.`);
    }
    if (row.owner === null || row.token === null || row.expires_at === null) return undefined;
    return {
      group,
      partition,
      owner: row.owner,
      token: BigInt(row.token),
      expiresAt: new Date(row.expires_at),
    };
  }

  async renew(fence: LeaseFence, ttlMs: number): Promise<boolean> {
    assertLeaseArguments(fence.group, fence.partition, ttlMs);
    const rows = await this.#run(`renew the lease on partition ${fence.partition} of "${fence.group}"`, () =>
      this.#executor.query({
        text: `UPDATE ${this.#tables.leases} SET expires_at = ${fromNow('$4')} WHERE ${FENCE_HELD} RETURNING 1 AS ok`,
        values: [...fenceValues(fence), ttlMs],
      }),
    );
    return rows.length === 1;
  }

  async isHeld(fence: LeaseFence): Promise<boolean> {
    assertLeaseArguments(fence.group, fence.partition);
    const rows = await this.#run(`check the lease on partition ${fence.partition} of "${fence.group}"`, () =>
      this.#executor.query({
        text: `SELECT 1 AS ok FROM ${this.#tables.leases} WHERE ${FENCE_HELD}`,
        values: fenceValues(fence),
      }),
    );
    return rows.length === 1;
  }

  async release(fence: LeaseFence): Promise<void> {
    assertLeaseArguments(fence.group, fence.partition);
    // The row stays, with its token: the next owner's token is larger.
    await this.#run(`release the lease on partition ${fence.partition} of "${fence.group}"`, () =>
      this.#executor.query({
        text: `UPDATE ${this.#tables.leases} SET owner = NULL, expires_at = clock_timestamp() WHERE ${FENCE_HELD}`,
        values: fenceValues(fence),
      }),
    );
  }

  async describe(group: string): Promise<ConsumerGroupDescription> {
    assertLeaseArguments(group);
    const { groups, members, leases } = this.#tables;
    return this.#run(`describe consumer group "${group}"`, () =>
      this.#executor.transaction(async (sql) => {
        const size = await sql.query<{ partitions: number }>({
          text: `SELECT partitions FROM ${groups} WHERE group_name = $1`,
          values: [group],
        });
        const partitions = size[0] === undefined ? undefined : Number(size[0].partitions);
        const live = await sql.query<{ worker_id: string; expires_at: Date | string }>({
          text: `SELECT worker_id, expires_at FROM ${members} WHERE group_name = $1 AND expires_at > clock_timestamp()`,
          values: [group],
        });
        // Rows of partitions past the count stay from before a reset with another count (their
        // tokens must not be reused); they are not partitions of the group now.
        const rows = await sql.query<LeaseRow>({
          text: `SELECT partition, owner, token, expires_at FROM ${leases}
                 WHERE group_name = $1 AND ($2::integer IS NULL OR partition < $2) ORDER BY partition`,
          values: [group, partitions ?? null],
        });
        return {
          group,
          partitions,
          members: live
            .map((row) => ({ workerId: row.worker_id, expiresAt: new Date(row.expires_at) }))
            .sort((a, b) => byCodeUnits(a.workerId, b.workerId)),
          leases: rows.map((row) => ({
            group,
            partition: Number(row.partition),
            owner: row.owner ?? undefined,
            token: BigInt(row.token),
            expiresAt: new Date(row.expires_at),
          })),
        };
      }),
    );
  }

  async reset(group: string): Promise<void> {
    assertLeaseArguments(group);
    const { groups, members, leases } = this.#tables;
    await this.#run(`reset consumer group "${group}"`, () =>
      this.#executor.transaction(async (sql: SqlSession) => {
        await sql.query({ text: `DELETE FROM ${members} WHERE group_name = $1`, values: [group] });
        await sql.query({ text: `DELETE FROM ${groups} WHERE group_name = $1`, values: [group] });
        // Lease rows keep their tokens, so the group joined again never reuses one.
        await sql.query({
          text: `UPDATE ${leases} SET owner = NULL, expires_at = clock_timestamp() WHERE group_name = $1 AND owner IS NOT NULL`,
          values: [group],
        });
      }),
    );
  }

  /**
   * Closes the connection pool if this store opened it (from a connection string). Every later call
   * fails with `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#executor.close();
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

/** The parameters $1..$3 of {@link FENCE_HELD}. */
export function fenceValues(fence: LeaseFence): unknown[] {
  return [fence.group, fence.partition, fence.token.toString()];
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Runs a lease acquisition again when it lost a race to insert the partition's first lease row.
 * Racing first inserts meet on two unique keys: (group, partition), which ON CONFLICT handles,
 * and (group, partition, token), which it cannot name too, so the loser may fail there instead.
 * Run again, the row exists and ON CONFLICT decides as for every later acquisition.
 */
async function retryFirstInsertRace<T>(acquire: () => Promise<T>): Promise<T> {
  try {
    return await acquire();
  } catch (error) {
    if (sqlState(error) !== '23505') throw error;
    return acquire();
  }
}
