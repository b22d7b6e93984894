import { InvalidArgumentError } from './errors.js';
import { uuidV7 } from './event-ids.js';
import type { DomainEvent, EventMetadata, NewEvent } from './events.js';
import type { SnapshotCapable } from './snapshot.js';
import { assertStreamId } from './validation.js';

/** An event in history: a stored event, or a plain domain event in test fixtures. */
export type HistoryEvent<E extends DomainEvent> = E & { readonly version?: number };

/**
 * Base class for aggregates in the specification's class style: command methods validate and call
 * `raiseEvent`; `apply` changes state and is the only place that does.
 *
 * @example
 * type AccountEvent = DomainEvent<'Opened', { owner: string }> | DomainEvent<'Deposited', { amount: number }>;
 * class Account extends EventSourcedAggregate<AccountEvent> {
 *   balance = 0;
 *   deposit(amount: number) { this.raiseEvent({ type: 'Deposited', data: { amount } }); }
 *   protected apply(event: AccountEvent) {
 *     if (event.type === 'Deposited') this.balance += event.data.amount;
 *   }
 * }
 */
export abstract class EventSourcedAggregate<E extends DomainEvent = DomainEvent> {
  readonly #id: string;
  #version = 0;
  #uncommitted: NewEvent<E>[] = [];

  constructor(id: string) {
    assertStreamId(id, 'aggregate id');
    this.#id = id;
  }

  get id(): string {
    return this.#id;
  }

  /** The stream version this instance was loaded at or last saved at (0 = new). */
  get version(): number {
    return this.#version;
  }

  /** Applies an event to the state. Must not throw for events already in history, nor do I/O. */
  protected abstract apply(event: E): void;

  /**
   * Applies a new event and records it for the next save. It gets its event id now, so a save
   * retried after a lost reply is recognised by the store and not written twice.
   */
  protected raiseEvent(event: E, metadata?: EventMetadata): void {
    this.apply(event);
    this.#uncommitted.push({ ...event, eventId: uuidV7(), ...(metadata ? { metadata } : {}) });
  }

  /** Rebuilds state from history. Stored events must continue this instance's version without a gap. */
  loadFromHistory(events: Iterable<HistoryEvent<E>>): void {
    for (const event of events) {
      const expected = this.#version + 1;
      if (event.version !== undefined && event.version !== expected) {
        throw new InvalidArgumentError(
          'history',
          `aggregate "${this.#id}" is at version ${this.#version} and expected event version ${expected}, ` +
            `got ${event.version}. History must be complete and in order.`,
        );
      }
      this.apply(event);
      this.#version = expected;
    }
  }

  /** Events raised since the last load or save, in order. */
  getUncommittedEvents(): readonly NewEvent<E>[] {
    return this.#uncommitted;
  }

  /** Clears the uncommitted events after a save; the version moves to the stream's new version. */
  markEventsAsCommitted(nextVersion: number = this.#version + this.#uncommitted.length): void {
    this.#uncommitted = [];
    this.#version = nextVersion;
  }

  /** Used by the repository: restores snapshot state taken at `version`. */
  loadFromSnapshot(this: EventSourcedAggregate<E> & SnapshotCapable, state: unknown, version: number): void {
    this.restoreSnapshot(state);
    this.#version = version;
  }
}

/** The event union of an aggregate class. */
export type EventOfAggregate<T> = T extends EventSourcedAggregate<infer E> ? E : never;

/** True when the aggregate implements `createSnapshot` and `restoreSnapshot`. */
export function isSnapshotCapable<T extends object>(aggregate: T): aggregate is T & SnapshotCapable {
  const candidate = aggregate as Partial<SnapshotCapable>;
  return typeof candidate.createSnapshot === 'function' && typeof candidate.restoreSnapshot === 'function';
}
