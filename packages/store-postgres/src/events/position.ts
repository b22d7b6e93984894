import { createHash } from 'node:crypto';
import type { Position } from '@es/core';
import type { StoreNames } from '../schema/identifiers.js';

/**
 * Bits of a position that hold an event's index within its append. A position is
 * `eraOffset + transactionId * 2^16 + index` (the era offset is 0 until the database first moves to
 * another cluster; see migration 005), so one append holds at most 65,536 events and positions stay
 * below 2^63 while the cluster's transaction ids stay below 2^47 (about 4.5 years of 1,000,000
 * transactions per second).
 */
export const POSITION_INDEX_BITS = 16;

/** The largest value of an `integer` column (versions are integers). */
export const INT32_MAX = 2_147_483_647;

// One append holds at most @es/core's MAX_BATCH_SIZE events (65,536 = 2^16): exactly the indexes
// POSITION_INDEX_BITS leaves room for (append.ts checks it).

/**
 * The system identifier of the cluster the statement runs on (unique per initdb), cached in the
 * session setting `es.system_id`: reading it costs a file read.
 *
 * Safe behind connection poolers (PgBouncer in transaction mode included): the setting lives in the
 * server backend, not in the client, and a backend belongs to one cluster for its whole life. When
 * a pooler hands the backend to another client, the cached value is still the system identifier of
 * the cluster that client's statement runs on, whatever cluster the pooler sends its other
 * connections to. A `DISCARD ALL` or `RESET ALL` by the pooler empties it, and the next statement
 * reads it again. It is never set by this package any other way; do not set it yourself (e.g.
 * with `ALTER ROLE … SET`).
 */
export const CLUSTER_ID_SQL = `coalesce(nullif(current_setting('es.system_id', true), ''),
  set_config('es.system_id', (SELECT system_identifier::text FROM pg_control_system()), false))`;

/**
 * The current era of the log (migration 005): its owner's system identifier and the offset added to
 * `transactionId * 2^16`. At most one row; appends and readers use it only when its owner is the
 * cluster they run on.
 */
export function currentEraSql(names: StoreNames): string {
  return `(SELECT system_id, position_offset FROM ${names.erasTable} ORDER BY era DESC LIMIT 1)`;
}

/** The largest `bigint`: the bound when every stored event is final (no era of this cluster yet). */
const UNBOUNDED = '9223372036854775807';

/**
 * The first position no reader may return yet. In the current era of this cluster: the era's
 * offset plus the oldest running transaction id, shifted; every transaction older than that one
 * has ended, so every event below this bound is committed (or never will be). When the current
 * era is another cluster's, the database was moved and nothing has been appended here since:
 * every stored event is final. A scalar sub-query, so the planner uses it as a bound (evaluated
 * once per statement).
 */
export function visibleBoundSql(names: StoreNames): string {
  return `coalesce((SELECT CASE WHEN era.system_id = ${CLUSTER_ID_SQL}
                     THEN era.position_offset
                          + (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${POSITION_INDEX_BITS})
                     ELSE ${UNBOUNDED} END
                   FROM ${currentEraSql(names)} era), ${UNBOUNDED})`;
}

/** Converts a position as the driver returns it (`pg`: string; PGlite: number or bigint). */
export function toPosition(value: unknown): Position {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string') return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new TypeError(`Expected a bigint position from the database, got ${String(value)}.`);
}

/** The NOTIFY channel of one event table; migration 001 computes the same name. */
export function notificationChannel(schema: string, table: string): string {
  return `es_${createHash('md5').update(`${schema}.${table}`).digest('hex').slice(0, 20)}`;
}
