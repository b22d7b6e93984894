import type { StoredEvent } from '@es/core';
import { PRODUCT_STREAM_PREFIX, type ProductEvent } from './domain/product-events.js';

/** One line of the stock read model. */
export interface StockRow {
  readonly sku: string;
  readonly name: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
}

/**
 * The stock list a warehouse screen shows, built from events only. Kept up to date by a live
 * projection (see `startStockProjection`), so it lags the write side by a moment, not a query.
 */
export class StockView {
  readonly #rows = new Map<string, StockRow>();

  /** Folds one event into the view. Events of other streams are ignored. */
  handle(event: StoredEvent<ProductEvent>): void {
    if (!event.streamId.startsWith(PRODUCT_STREAM_PREFIX)) return;
    const sku = event.streamId.slice(PRODUCT_STREAM_PREFIX.length);
    const row = this.#rows.get(sku) ?? { sku, name: '', onHand: 0, reserved: 0, available: 0 };
    const next = evolve(row, event);
    this.#rows.set(sku, { ...next, available: next.onHand - next.reserved });
  }

  get(sku: string): StockRow | undefined {
    return this.#rows.get(sku);
  }

  /** The rows, sorted by SKU. */
  rows(): StockRow[] {
    return [...this.#rows.values()].sort((a, b) => a.sku.localeCompare(b.sku));
  }
}

function evolve(row: StockRow, event: ProductEvent): StockRow {
  switch (event.type) {
    case 'ProductRegistered':
      return { ...row, name: event.data.name };
    case 'StockReceived':
      return { ...row, onHand: row.onHand + event.data.quantity };
    case 'StockReserved':
      return { ...row, reserved: row.reserved + event.data.quantity };
    case 'ReservationShipped':
      return {
        ...row,
        onHand: row.onHand - event.data.quantity,
        reserved: row.reserved - event.data.quantity,
      };
    case 'StockAdjusted':
      return { ...row, onHand: row.onHand + event.data.delta };
  }
}
