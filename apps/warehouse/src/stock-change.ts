import type { StoredEvent } from '@es/core';
import { PRODUCT_STREAM_PREFIX, type ProductEvent } from './domain/product-events.js';

/** How one event changes a product's line in the stock read model. */
export interface StockChange {
  readonly sku: string;
  /** Set by `ProductRegistered`. */
  readonly name?: string;
  readonly onHand: number;
  readonly reserved: number;
}

/**
 * The read model's rules in one pure function, shared by the in-memory and the SQL read model:
 * what an event adds to a product's stock on hand and reserved. `undefined` for other streams.
 */
export function stockChange(event: StoredEvent<ProductEvent>): StockChange | undefined {
  if (!event.streamId.startsWith(PRODUCT_STREAM_PREFIX)) return undefined;
  const sku = event.streamId.slice(PRODUCT_STREAM_PREFIX.length);
  switch (event.type) {
    case 'ProductRegistered':
      return { sku, name: event.data.name, onHand: 0, reserved: 0 };
    case 'StockReceived':
      return { sku, onHand: event.data.quantity, reserved: 0 };
    case 'StockReserved':
      return { sku, onHand: 0, reserved: event.data.quantity };
    case 'ReservationShipped':
      return { sku, onHand: -event.data.quantity, reserved: -event.data.quantity };
    case 'StockAdjusted':
      return { sku, onHand: event.data.delta, reserved: 0 };
  }
}
