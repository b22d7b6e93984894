import type { ParkedEvent, Position } from '@es/core';
import type { SqlSession } from '../connection/sql-executor.js';

// The SQL of es_parked_events (migrations 003 and 010) shared by PostgresProjectionStore and the
// tools that read it: listing, and the retry requests an operator leaves for the running workers.

interface ParkedRow {
  subscription_id: string;
  position: string | number | bigint;
  event_id: string;
  stream_id: string;
  event_type: string;
  error: string;
  attempts: number;
  parked_at: Date | string;
  retry_requested_at: Date | string | null;
}

/** A row of es_parked_events as a `ParkedEvent`; `retryRequestedAt` only when the row is marked. */
export function parkedEventOf(row: ParkedRow): ParkedEvent {
  const event: ParkedEvent = {
    subscriptionId: row.subscription_id,
    position: BigInt(row.position),
    eventId: row.event_id,
    streamId: row.stream_id,
    eventType: row.event_type,
    error: row.error,
    attempts: Number(row.attempts),
    parkedAt: new Date(row.parked_at),
  };
  return row.retry_requested_at === null || row.retry_requested_at === undefined
    ? event
    : { ...event, retryRequestedAt: new Date(row.retry_requested_at) };
}

/** The parked events of `subscriptionIds` (every one when `marked` is false), in position order. */
export async function selectParked(
  session: SqlSession,
  table: string,
  subscriptionIds: readonly string[],
  options: { marked: boolean },
): Promise<ParkedEvent[]> {
  const rows = await session.query<ParkedRow>({
    text: `SELECT * FROM ${table} WHERE subscription_id = ANY($1::text[])${
      options.marked ? ' AND retry_requested_at IS NOT NULL' : ''
    } ORDER BY position, subscription_id`,
    values: [subscriptionIds],
  });
  return rows.map(parkedEventOf);
}

/**
 * Parked events of every subscription, or of `name` only (a subscription id, or a consumer group's
 * name: every `<name>#<partition>`), by subscription and position; at most `limit` when given.
 */
export async function selectParkedNamed(
  session: SqlSession,
  table: string,
  options: { name?: string; limit?: number },
): Promise<ParkedEvent[]> {
  const values: unknown[] = [];
  let where = '';
  if (options.name !== undefined) {
    values.push(options.name, `${options.name}#`);
    where = 'WHERE subscription_id = $1 OR starts_with(subscription_id, $2)';
  }
  let limit = '';
  if (options.limit !== undefined) {
    values.push(options.limit);
    limit = `LIMIT $${values.length}`;
  }
  const rows = await session.query<ParkedRow>({
    text: `SELECT * FROM ${table} ${where} ORDER BY subscription_id, position ${limit}`,
    values,
  });
  return rows.map(parkedEventOf);
}

/** Marks a parked event for a retry (keeping the first mark's time); false when it is not parked. */
export async function markForRetry(
  session: SqlSession,
  table: string,
  subscriptionId: string,
  position: Position,
): Promise<boolean> {
  const rows = await session.query({
    text: `UPDATE ${table} SET retry_requested_at = coalesce(retry_requested_at, now())
           WHERE subscription_id = $1 AND position = $2 RETURNING 1`,
    values: [subscriptionId, position.toString()],
  });
  return rows.length > 0;
}

/** A requested retry failed: one more attempt, the new error, and no mark. */
export async function unmarkAfterFailure(
  session: SqlSession,
  table: string,
  subscriptionId: string,
  position: Position,
  error: string,
): Promise<void> {
  await session.query({
    text: `UPDATE ${table} SET attempts = attempts + 1, error = $3, retry_requested_at = NULL
           WHERE subscription_id = $1 AND position = $2`,
    values: [subscriptionId, position.toString(), error],
  });
}
