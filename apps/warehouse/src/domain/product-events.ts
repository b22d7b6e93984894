import { type EventOf, EventRegistry, typed } from '@es/core';

/** `StockReceived` as the first version of the app wrote it: a bare quantity. */
export interface StockReceivedV1 {
  readonly qty: number;
}

/** `StockReceived` today: the quantity, renamed, and who delivered it. */
export interface StockReceivedV2 {
  readonly quantity: number;
  readonly supplier: string;
}

/** The supplier recorded for deliveries from before suppliers were tracked. */
export const UNKNOWN_SUPPLIER = 'unknown (recorded before suppliers were tracked)';

/** Turns a v1 `StockReceived` into the v2 shape. Runs on read; stored events are never rewritten. */
export function upcastStockReceivedV1(data: unknown): StockReceivedV2 {
  const v1 = data as StockReceivedV1;
  return { quantity: v1.qty, supplier: UNKNOWN_SUPPLIER };
}

/**
 * Every event of a product. `StockReceived` has two schema versions: the registry writes v2 and
 * upcasts stored v1 events on read, so the decider only ever sees the newest shape.
 */
export const productEvents = new EventRegistry()
  .register('ProductRegistered', typed<{ sku: string; name: string }>())
  .register('StockReceived', typed<StockReceivedV2>({ upcasters: [upcastStockReceivedV1] }))
  .register('StockReserved', typed<{ orderId: string; quantity: number }>())
  .register('ReservationShipped', typed<{ orderId: string; quantity: number }>())
  .register('StockAdjusted', typed<{ delta: number; reason: string }>());

/**
 * The registry of the app's first release, where `StockReceived` was still v1. The demo and the
 * tests use it to write the old events a long-lived store would hold.
 */
export const firstReleaseProductEvents = new EventRegistry()
  .register('ProductRegistered', typed<{ sku: string; name: string }>())
  .register('StockReceived', typed<StockReceivedV1>());

/** The union of product events (newest shapes): `switch (event.type)` narrows `event.data`. */
export type ProductEvent = EventOf<typeof productEvents>;

/** Stream ids are `product-<sku>`. */
export const PRODUCT_STREAM_PREFIX = 'product-';
