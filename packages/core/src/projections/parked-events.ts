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
export class InMemoryParkedEventStore implements ParkedEventStore {
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
}
