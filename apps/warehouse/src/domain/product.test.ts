import { InMemoryEventStore, InMemoryStorage } from '@es/core';
import { deciderFixture } from '@es/testing';
import { describe, expect, it } from '@jest/globals';
import { availableOf, productDecider } from './product.js';
import {
  AdjustmentRefusedError,
  InsufficientStockError,
  InvalidQuantityError,
  ProductAlreadyRegisteredError,
  ProductNotRegisteredError,
  ReservationError,
} from './product-errors.js';
import {
  firstReleaseProductEvents,
  type ProductEvent,
  productEvents,
  UNKNOWN_SUPPLIER,
} from './product-events.js';

const product = deciderFixture(productDecider);
const registered: ProductEvent = { type: 'ProductRegistered', data: { sku: 'SKU-1', name: 'Lamp' } };
const received = (quantity: number): ProductEvent => ({
  type: 'StockReceived',
  data: { quantity, supplier: 'Acme' },
});
const reserved = (orderId: string, quantity: number): ProductEvent => ({
  type: 'StockReserved',
  data: { orderId, quantity },
});

describe('Product', () => {
  it('registers once', () => {
    product.given().when({ type: 'Register', sku: 'SKU-1', name: 'Lamp' }).thenEvents([registered]);
    product
      .given(registered)
      .when({ type: 'Register', sku: 'SKU-1', name: 'Lamp' })
      .thenThrows(ProductAlreadyRegisteredError);
  });

  it('refuses stock movements before registration', () => {
    product
      .given()
      .when({ type: 'Receive', quantity: 5, supplier: 'Acme' })
      .thenThrows(ProductNotRegisteredError);
  });

  it('receives stock', () => {
    product
      .given(registered)
      .when({ type: 'Receive', quantity: 10, supplier: 'Acme' })
      .thenState((state) => expect(state.onHand).toBe(10));
  });

  it('reserves what is available and refuses more', () => {
    product
      .given(registered, received(10), reserved('order-1', 6))
      .when({ type: 'Reserve', orderId: 'order-2', quantity: 4 })
      .thenState((state) => expect(availableOf(state)).toBe(0));
    product
      .given(registered, received(10), reserved('order-1', 6))
      .when({ type: 'Reserve', orderId: 'order-2', quantity: 5 })
      .thenThrows(InsufficientStockError);
  });

  it('refuses a second reservation for the same order', () => {
    product
      .given(registered, received(10), reserved('order-1', 2))
      .when({ type: 'Reserve', orderId: 'order-1', quantity: 2 })
      .thenThrows(ReservationError);
  });

  it('ships a reservation: the units leave the warehouse and the reservation ends', () => {
    product
      .given(registered, received(10), reserved('order-1', 6))
      .when({ type: 'Ship', orderId: 'order-1' })
      .thenEvents([{ type: 'ReservationShipped', data: { orderId: 'order-1', quantity: 6 } }]);
    product
      .given(registered, received(10), reserved('order-1', 6))
      .when({ type: 'Ship', orderId: 'order-1' })
      .thenState((state) => expect(state).toMatchObject({ onHand: 4, reservations: {} }));
  });

  it('refuses to ship an order without a reservation', () => {
    product
      .given(registered, received(10))
      .when({ type: 'Ship', orderId: 'order-9' })
      .thenThrows(ReservationError);
  });

  it('adjusts stock after a count, but never below what is reserved', () => {
    product
      .given(registered, received(10))
      .when({ type: 'Adjust', delta: -2, reason: 'broken in storage' })
      .thenState((state) => expect(state.onHand).toBe(8));
    product
      .given(registered, received(10), reserved('order-1', 9))
      .when({ type: 'Adjust', delta: -2, reason: 'broken in storage' })
      .thenThrows(AdjustmentRefusedError);
  });

  it.each([0, -1, 2.5])('refuses the quantity %p', (quantity) => {
    product
      .given(registered)
      .when({ type: 'Receive', quantity, supplier: 'Acme' })
      .thenThrows(InvalidQuantityError);
  });
});

describe('StockReceived, schema v1 -> v2', () => {
  it('loads events written by the first release in the newest shape', async () => {
    const storage = new InMemoryStorage();
    const firstRelease = new InMemoryEventStore({ storage, registry: firstReleaseProductEvents });
    await firstRelease.appendEvents('product-SKU-1', 0, [
      { type: 'ProductRegistered', data: { sku: 'SKU-1', name: 'Lamp' } },
      { type: 'StockReceived', data: { qty: 7 } },
    ]);

    const today = new InMemoryEventStore({ storage, registry: productEvents });
    await today.appendEvents('product-SKU-1', 2, [received(3)]);
    const events = await today.getEvents<ProductEvent>('product-SKU-1');

    expect(events.map((event) => [event.type, event.schemaVersion, event.data])).toEqual([
      ['ProductRegistered', 1, { sku: 'SKU-1', name: 'Lamp' }],
      ['StockReceived', 2, { quantity: 7, supplier: UNKNOWN_SUPPLIER }],
      ['StockReceived', 2, { quantity: 3, supplier: 'Acme' }],
    ]);
    const state = events.reduce(productDecider.evolve, productDecider.initialState());
    expect(state.onHand).toBe(10);
  });

  it('refuses to write the old shape with the new registry', async () => {
    const today = new InMemoryEventStore({ registry: productEvents });
    await expect(
      today.appendEvents('product-SKU-2', 0, [{ type: 'StockReceived', schemaVersion: 1, data: { qty: 1 } }]),
    ).rejects.toMatchObject({ code: 'ES_UNKNOWN_EVENT_TYPE' });
  });
});
