import {
  type BackoffOptions,
  backoffDelay,
  type DomainEvent,
  isEventStoreUnavailableError,
  isLeaseLostError,
  isStoreClosedError,
  type ParkedEvent,
  type ProjectionBatch,
  type StoredEvent,
} from '@es/core';
import { describeError } from './describe-error.js';
import { sleep } from './wake-up.js';

/** How `handleWithRetry` runs and parks one event. */
export interface HandleWithRetryOptions<E extends DomainEvent, TContext> {
  readonly event: StoredEvent<E>;
  readonly unit: ProjectionBatch<TContext>;
  /** Runs the handler once with the batch's context. */
  readonly run: (context: TContext) => Promise<void>;
  /** The subscription (or partition) the event is parked under. */
  readonly subscriptionId: string;
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
  /** Aborted when the runner crashes: ends the wait between attempts and the retries. */
  readonly signal: AbortSignal;
  /** Told before each wait for another attempt (for telemetry). */
  readonly onRetry?: () => void;
}

/**
 * An error of a store, not of the handler (the batch's connection dropped, the store was closed,
 * the lease was lost): the batch is retried or given up as a whole, and no attempt is spent.
 */
export const isStoreFault = (error: unknown): boolean =>
  isEventStoreUnavailableError(error) || isStoreClosedError(error) || isLeaseLostError(error);

/**
 * Handles one event, retrying a failing handler with backoff; after `maxAttempts` the event is
 * parked in the batch and its record returned. A store's fault is rethrown at once.
 */
export async function handleWithRetry<E extends DomainEvent, TContext>(
  options: HandleWithRetryOptions<E, TContext>,
): Promise<ParkedEvent | undefined> {
  const { event, unit, maxAttempts, signal } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      await unit.attempt(options.run);
      return undefined;
    } catch (error) {
      signal.throwIfAborted();
      if (isStoreFault(error)) throw error;
      if (attempt >= maxAttempts) {
        const record: ParkedEvent = {
          subscriptionId: options.subscriptionId,
          position: event.position,
          eventId: event.eventId,
          streamId: event.streamId,
          eventType: event.type,
          error: describeError(error),
          attempts: attempt,
          parkedAt: new Date(),
        };
        await unit.park(record);
        return record;
      }
      options.onRetry?.();
      await sleep(backoffDelay(attempt, options.backoff), signal);
    }
  }
}
