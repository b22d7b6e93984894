import type { DomainEvent, StoredEvent } from '@es/core';

/**
 * Handles one batch of events with up to `concurrency` handlers running at once, keeping the
 * events of each stream in order: a stream's events go to one worker, one after another. Resolves
 * when the whole batch is handled; rejects with the first error after the running handlers settle.
 */
export async function dispatchPerStream<E extends DomainEvent>(
  events: readonly StoredEvent<E>[],
  concurrency: number,
  handle: (event: StoredEvent<E>) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  if (concurrency <= 1) {
    for (const event of events) {
      signal?.throwIfAborted();
      await handle(event);
    }
    return;
  }
  const lanes = [...groupByStream(events).values()];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < lanes.length) {
      const lane = lanes[next++]!;
      for (const event of lane) {
        if (failure) return;
        try {
          signal?.throwIfAborted();
          await handle(event);
        } catch (error) {
          failure ??= { error };
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, lanes.length) }, worker));
  if (failure) throw failure.error;
}

function groupByStream<E extends DomainEvent>(
  events: readonly StoredEvent<E>[],
): Map<string, StoredEvent<E>[]> {
  const lanes = new Map<string, StoredEvent<E>[]>();
  for (const event of events) {
    const lane = lanes.get(event.streamId);
    if (lane) lane.push(event);
    else lanes.set(event.streamId, [event]);
  }
  return lanes;
}
