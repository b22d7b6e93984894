import type { StoredEvent } from '@es/core';
import type { ProductEvent } from './domain/product-events.js';
import { stockChange } from './stock-change.js';

/** One line of the stock read model. */
export interface StockRow {
  readonly sku: string;
  readonly name: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
}

/**
 * The stock list in process memory, built from events only. Used when the store is not PostgreSQL
 * (see `openStockReadModel`); it starts empty in every process and catches up from the log.
 */
export class StockView {
  readonly #rows = new Map<string, StockRow>();

  /** Folds one event into the view. Events of other streams are ignored. */
  handle(event: StoredEvent<ProductEvent>): void {
    const change = stockChange(event);
    if (!change) return;
    const row = this.#rows.get(change.sku) ?? {
      sku: change.sku,
      name: '',
      onHand: 0,
      reserved: 0,
      available: 0,
    };
    const onHand = row.onHand + change.onHand;
    const reserved = row.reserved + change.reserved;
    this.#rows.set(change.sku, {
      ...row,
      name: change.name ?? row.name,
      onHand,
      reserved,
      available: onHand - reserved,
    });
  }

  /** The rows, sorted by SKU. */
  rows(): StockRow[] {
    return [...this.#rows.values()].sort((a, b) => a.sku.localeCompare(b.sku));
  }
}
