import { createHash } from 'node:crypto';
import type { Position } from '@es/core';

/**
 * Bits of a position that hold an event's index within its append. A position is
 * `transactionId * 2^16 + index`, so one append holds at most 65,536 events and positions stay
 * below 2^63 while the cluster's transaction ids stay below 2^47 (about 4.5 years of 1,000,000
 * transactions per second).
 */
export const POSITION_INDEX_BITS = 16;

/** The largest value of an `integer` column (versions are integers). */
export const INT32_MAX = 2_147_483_647;

/** Most events one `appendEvents` call may carry (2^16). */
export const MAX_EVENTS_PER_APPEND = 2 ** POSITION_INDEX_BITS;

/**
 * The first position no reader may return yet: every transaction older than the oldest one still
 * running has ended, so every event below this bound is committed (or never will be). A scalar
 * sub-query, so the planner uses it as an index bound (evaluated once per statement).
 */
export const VISIBLE_BOUND_SQL = `(SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${POSITION_INDEX_BITS})`;

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
