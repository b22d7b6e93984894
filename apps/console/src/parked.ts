import type { ConsoleStores } from './database.js';
import { isoOf, quoted } from './queries.js';

// The parked events view and its two writes: a retry request for the running workers, and a skip.

/** A parked event, with the subscription that parked it. */
export interface ParkedView {
  readonly subscriptionId: string;
  readonly position: string;
  readonly eventId: string;
  readonly streamId: string;
  readonly eventType: string;
  readonly error: string;
  readonly attempts: number;
  readonly parkedAt: string;
  /** When an operator asked the running worker to retry it (ISO time), or null. */
  readonly retryRequestedAt: string | null;
}

/** Every parked event of every subscription, oldest first (at most 1 000). */
export async function listParked(stores: ConsoleStores): Promise<ParkedView[]> {
  // `*`: a schema before migration 010 has no retry_requested_at, and lists all the same.
  const rows = await stores.sql.query<{
    subscription_id: string;
    position_text: string;
    event_id: string;
    stream_id: string;
    event_type: string;
    error: string;
    attempts: number;
    parked_at: unknown;
    retry_requested_at?: unknown;
  }>({
    text: `SELECT *, position::text AS position_text
           FROM ${quoted(stores.schema)}.es_parked_events ORDER BY parked_at, subscription_id, position LIMIT 1000`,
  });
  return rows.map((row) => ({
    subscriptionId: row.subscription_id,
    position: row.position_text,
    eventId: row.event_id,
    streamId: row.stream_id,
    eventType: row.event_type,
    error: row.error,
    attempts: Number(row.attempts),
    parkedAt: isoOf(row.parked_at),
    retryRequestedAt: row.retry_requested_at == null ? null : isoOf(row.retry_requested_at),
  }));
}

/**
 * Asks the running worker that owns the subscription to handle a parked event again with its own
 * handler (`requestRetry`); it does so within about a second. Returns false when there was no such
 * record.
 */
export function requestParkedRetry(
  stores: ConsoleStores,
  subscriptionId: string,
  position: bigint,
): Promise<boolean> {
  return stores.projections.requestRetry(subscriptionId, position);
}

/**
 * Skips a parked event: deletes its record (`removeParked`), so nobody retries it. Returns false
 * when there was no such record.
 */
export async function skipParked(
  stores: ConsoleStores,
  subscriptionId: string,
  position: bigint,
): Promise<boolean> {
  const parked = await stores.projections.listParked(subscriptionId);
  if (!parked.some((event) => event.position === position)) return false;
  await stores.projections.removeParked(subscriptionId, position);
  return true;
}
