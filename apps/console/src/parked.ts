import type { ConsoleStores } from './database.js';

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

/** Parked events of every subscription (at most 1 000, by subscription and position), oldest first. */
export async function listParked(stores: ConsoleStores): Promise<ParkedView[]> {
  const parked = await stores.projections.listAllParked({ limit: 1000 });
  return parked
    .sort((a, b) => a.parkedAt.getTime() - b.parkedAt.getTime())
    .map((event) => ({
      subscriptionId: event.subscriptionId,
      position: event.position.toString(),
      eventId: event.eventId,
      streamId: event.streamId,
      eventType: event.eventType,
      error: event.error,
      attempts: event.attempts,
      parkedAt: event.parkedAt.toISOString(),
      retryRequestedAt: event.retryRequestedAt?.toISOString() ?? null,
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
