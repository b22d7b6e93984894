import type { CheckpointStore, EventStore } from '@es/core';
import { InMemoryCheckpointStore, Projection } from '@es/replay';
import { type ProductEvent, productEvents } from './domain/product-events.js';
import { StockView } from './stock-view.js';

/** A running stock projection and the read model it keeps. */
export interface StockProjection {
  readonly view: StockView;
  readonly projection: Projection<ProductEvent>;
}

export interface StockProjectionOptions {
  readonly eventStore: EventStore;
  /**
   * Where the projection records how far it has read. The view lives in memory, so the default is
   * an in-memory checkpoint store too: each process starts with an empty view and catches up from
   * the beginning of the log. A view kept in a database would use a persistent checkpoint store.
   */
  readonly checkpoints?: CheckpointStore;
}

/**
 * Starts the stock projection as a catch-up subscription: it reads the product events already in
 * the log, then follows new ones live as they are appended.
 */
export function startStockProjection(options: StockProjectionOptions): StockProjection {
  const view = new StockView();
  const projection = new Projection<ProductEvent>({
    name: 'stock',
    eventStore: options.eventStore,
    handler: (event) => view.handle(event),
    checkpoints: options.checkpoints ?? new InMemoryCheckpointStore(),
    eventTypes: productEvents.types,
    pollIntervalMs: 200,
  });
  projection.start();
  return { view, projection };
}
