import type { DomainEvent, StoredEvent } from '@es/core';

/**
 * Receives events during a replay or a projection: a function, or an object with `handleEvent`
 * (the spec's `ProjectionHandler`). A handler may be async; the next event of the same stream is
 * not handed over before its promise settles.
 *
 * @example
 * const handler: EventHandler = async (event) => { await readModel.apply(event); };
 */
export type EventHandler<E extends DomainEvent = DomainEvent, TContext = void> =
  | ((event: StoredEvent<E>, context: TContext) => unknown)
  | { handleEvent(event: StoredEvent<E>, context: TContext): unknown };

/** The handler as a function, whichever form it was given in. */
export function handlerFunction<E extends DomainEvent, TContext>(
  handler: EventHandler<E, TContext>,
): (event: StoredEvent<E>, context: TContext) => Promise<void> {
  if (typeof handler === 'function') return async (event, context) => void (await handler(event, context));
  if (handler && typeof handler.handleEvent === 'function') {
    return async (event, context) => void (await handler.handleEvent(event, context));
  }
  throw new TypeError('Invalid handler: expected a function or an object with a handleEvent method.');
}
