import type { Position } from '../events.js';

/**
 * An event a projection's handler kept failing on, set aside so the projection goes on. Fix the
 * handler, then handle it again (`ConsumerGroup.retryParked` of @es/replay) or drop it.
 */
export interface ParkedEvent {
  /** The projection (subscription) that parked it. */
  readonly subscriptionId: string;
  readonly position: Position;
  readonly eventId: string;
  readonly streamId: string;
  readonly eventType: string;
  /** The last error's message (with its name), as text so any store can keep it. */
  readonly error: string;
  /** How many times the handler was tried. */
  readonly attempts: number;
  readonly parkedAt: Date;
  /**
   * Set when an operator asked the running workers to handle it again (`requestRetry`: the web
   * console, `es parked retry --request`); cleared when that retry failed.
   */
  readonly retryRequestedAt?: Date;
}

/**
 * Retry requests: an operator marks a parked event, and the worker that owns its subscription (a
 * consumer group's partition) handles it again with its own handler, at its next flush. Stores that
 * keep parked events for consumer groups offer these (PostgreSQL, MongoDB, in memory).
 */
export interface ParkedRetryRequests {
  /** Marks a parked event for a retry; false when no such event is parked. Marking twice is harmless. */
  requestRetry(subscriptionId: string, position: Position): Promise<boolean>;
  /** The parked events of these subscriptions that are marked for a retry, in position order. */
  listRetryRequests(subscriptionIds: readonly string[]): Promise<ParkedEvent[]>;
  /**
   * Records that a requested retry failed again: counts the attempt, keeps the new error and clears
   * the request, so the event stays parked until someone asks again.
   */
  recordRetryFailure(subscriptionId: string, position: Position, error: string): Promise<void>;
}

/**
 * Where parked events are recorded. `park` is idempotent per (subscription, position): a batch
 * handled again after a crash does not record the same event twice.
 */
export interface ParkedEventStore {
  park(event: ParkedEvent): Promise<void>;
  /** The subscription's parked events, in position order. */
  list(subscriptionId: string): Promise<ParkedEvent[]>;
  /** Removes one parked event (after it was handled again or judged harmless). */
  remove(subscriptionId: string, position: Position): Promise<void>;
}

/** Parked events in process memory, for tests and development. */
export class InMemoryParkedEventStore implements ParkedEventStore, ParkedRetryRequests {
  readonly #parked = new Map<string, Map<Position, ParkedEvent>>();

  async park(event: ParkedEvent): Promise<void> {
    const forSubscription = this.#parked.get(event.subscriptionId) ?? new Map<Position, ParkedEvent>();
    if (!forSubscription.has(event.position)) forSubscription.set(event.position, { ...event });
    this.#parked.set(event.subscriptionId, forSubscription);
  }

  async list(subscriptionId: string): Promise<ParkedEvent[]> {
    const parked = [...(this.#parked.get(subscriptionId)?.values() ?? [])];
    return parked.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  }

  async remove(subscriptionId: string, position: Position): Promise<void> {
    this.#parked.get(subscriptionId)?.delete(position);
  }

  async requestRetry(subscriptionId: string, position: Position): Promise<boolean> {
    const forSubscription = this.#parked.get(subscriptionId);
    const event = forSubscription?.get(position);
    if (!forSubscription || !event) return false;
    forSubscription.set(position, { ...event, retryRequestedAt: event.retryRequestedAt ?? new Date() });
    return true;
  }

  async listRetryRequests(subscriptionIds: readonly string[]): Promise<ParkedEvent[]> {
    const lists = await Promise.all(subscriptionIds.map((id) => this.list(id)));
    return lists
      .flat()
      .filter((event) => event.retryRequestedAt !== undefined)
      .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  }

  async recordRetryFailure(subscriptionId: string, position: Position, error: string): Promise<void> {
    const forSubscription = this.#parked.get(subscriptionId);
    const event = forSubscription?.get(position);
    if (!forSubscription || !event) return;
    const { retryRequestedAt: _cleared, ...rest } = event;
    forSubscription.set(position, { ...rest, error, attempts: event.attempts + 1 });
  }
}
