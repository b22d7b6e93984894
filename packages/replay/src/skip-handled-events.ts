import type { DomainEvent, Position, StoredEvent } from '@es/core';
import type { ConsumerGroupEventInfo, ConsumerGroupHandler } from './consumer-group-options.js';

/**
 * Remembers, per key, the position of the last event handled: the idempotency record of an
 * at-least-once consumer whose target cannot share a transaction with the checkpoint (a search
 * index, a cache, another service). Keep it next to the data it guards, ideally written in the
 * same operation.
 */
export interface HandledPositions {
  get(key: string): Promise<Position | undefined>;
  set(key: string, position: Position): Promise<void>;
}

/** `HandledPositions` in process memory, for tests and single-process development. */
export class InMemoryHandledPositions implements HandledPositions {
  readonly #positions = new Map<string, Position>();

  async get(key: string): Promise<Position | undefined> {
    return this.#positions.get(key);
  }

  async set(key: string, position: Position): Promise<void> {
    this.#positions.set(key, position);
  }
}

/**
 * Wraps a handler so that an event handled before is skipped: after a crash, an at-least-once
 * consumer group hands the last batch over again, and this turns those repeats into no-ops. It
 * relies on per-key order (a consumer group keeps each stream's events in order, the default key),
 * so one position per key is enough: an event at or before it was handled. An event whose handler
 * succeeded but whose record was not yet stored (a crash in between) is still handled twice.
 *
 * @example
 * const group = new ConsumerGroup({
 *   name: 'search-index', partitions: 4, eventStore, leases, checkpoints,
 *   handler: skipHandledEvents(indexEvent, new RedisHandledPositions(redis)),
 * });
 */
export function skipHandledEvents<E extends DomainEvent, TContext>(
  handler: ConsumerGroupHandler<E, TContext>,
  handled: HandledPositions,
  key: (event: StoredEvent<E>) => string = (event) => event.streamId,
): (event: StoredEvent<E>, context: TContext, info: ConsumerGroupEventInfo) => Promise<void> {
  const handle =
    typeof handler === 'function'
      ? handler
      : (event: StoredEvent<E>, context: TContext, info: ConsumerGroupEventInfo) =>
          handler.handleEvent(event, context, info);
  return async (event, context, info) => {
    const last = await handled.get(key(event));
    if (last !== undefined && event.position <= last) return;
    await handle(event, context, info);
    await handled.set(key(event), event.position);
  };
}
