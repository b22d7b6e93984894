import type { DomainEvent, EventStore, Position, StoredEvent } from '@es/core';

export interface BatchReadOptions {
  readonly batchSize: number;
  readonly eventTypes?: readonly string[] | undefined;
  readonly toPosition?: Position | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The log after `fromPosition` as consecutive arrays of at most `batchSize` events, read through
 * one lazy `getAllEvents` iteration: memory holds one batch, whatever the log's size.
 */
export async function* readBatches<E extends DomainEvent>(
  store: EventStore,
  fromPosition: Position,
  options: BatchReadOptions,
): AsyncGenerator<StoredEvent<E>[]> {
  let batch: StoredEvent<E>[] = [];
  for await (const event of store.getAllEvents<E>(fromPosition, readAllOptions(options))) {
    batch.push(event);
    if (batch.length >= options.batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Reads the next batch only (at most `batchSize` events after `fromPosition`). */
export async function readOneBatch<E extends DomainEvent>(
  store: EventStore,
  fromPosition: Position,
  options: BatchReadOptions,
): Promise<StoredEvent<E>[]> {
  const batch: StoredEvent<E>[] = [];
  for await (const event of store.getAllEvents<E>(fromPosition, readAllOptions(options))) {
    batch.push(event);
    if (batch.length >= options.batchSize) break;
  }
  return batch;
}

function readAllOptions(options: BatchReadOptions) {
  return {
    batchSize: options.batchSize,
    ...(options.eventTypes ? { eventTypes: options.eventTypes } : {}),
    ...(options.toPosition !== undefined ? { toPosition: options.toPosition } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}
