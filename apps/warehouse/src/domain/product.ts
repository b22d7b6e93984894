import type { Decider } from '@es/core';
import {
  AdjustmentRefusedError,
  InsufficientStockError,
  InvalidQuantityError,
  ProductAlreadyRegisteredError,
  ProductNotRegisteredError,
  ReservationError,
} from './product-errors.js';
import type { ProductEvent } from './product-events.js';

/** A product's state: plain data, so it is also its snapshot. */
export interface ProductState {
  readonly sku: string;
  readonly name: string;
  readonly registered: boolean;
  /** Units physically in the warehouse, reserved ones included. */
  readonly onHand: number;
  /** Units held for each order until it ships. */
  readonly reservations: Readonly<Record<string, number>>;
}

/** What a product can be asked to do. */
export type ProductCommand =
  | { readonly type: 'Register'; readonly sku: string; readonly name: string }
  | { readonly type: 'Receive'; readonly quantity: number; readonly supplier: string }
  | { readonly type: 'Reserve'; readonly orderId: string; readonly quantity: number }
  | { readonly type: 'Ship'; readonly orderId: string }
  | { readonly type: 'Adjust'; readonly delta: number; readonly reason: string };

/** Units reserved for all orders together. */
export function reservedOf(state: ProductState): number {
  return Object.values(state.reservations).reduce((sum, quantity) => sum + quantity, 0);
}

/** Units that can still be reserved. */
export function availableOf(state: ProductState): number {
  return state.onHand - reservedOf(state);
}

/**
 * The event-sourced Product, in the functional style: `decide` checks a command against the state
 * and returns the events (or throws a domain error); `evolve` folds one event into a new state.
 * Both are pure, so the whole domain is tested without a store.
 */
export const productDecider: Decider<ProductState, ProductCommand, ProductEvent> = {
  initialState: () => ({ sku: '', name: '', registered: false, onHand: 0, reservations: {} }),

  decide(command, state) {
    if (command.type === 'Register') {
      if (state.registered) throw new ProductAlreadyRegisteredError(state.sku);
      return { type: 'ProductRegistered', data: { sku: command.sku, name: command.name } };
    }
    if (!state.registered) throw new ProductNotRegisteredError();
    switch (command.type) {
      case 'Receive':
        assertQuantity(command.quantity);
        return { type: 'StockReceived', data: { quantity: command.quantity, supplier: command.supplier } };
      case 'Reserve': {
        assertQuantity(command.quantity);
        if (command.orderId in state.reservations) {
          throw new ReservationError(command.orderId, 'already holds a reservation.');
        }
        const available = availableOf(state);
        if (command.quantity > available) {
          throw new InsufficientStockError(state.sku, available, command.quantity);
        }
        return { type: 'StockReserved', data: { orderId: command.orderId, quantity: command.quantity } };
      }
      case 'Ship': {
        const quantity = state.reservations[command.orderId];
        if (quantity === undefined)
          throw new ReservationError(command.orderId, 'holds no reservation to ship.');
        return { type: 'ReservationShipped', data: { orderId: command.orderId, quantity } };
      }
      case 'Adjust': {
        if (!Number.isSafeInteger(command.delta) || command.delta === 0) {
          throw new InvalidQuantityError(command.delta);
        }
        const reserved = reservedOf(state);
        if (state.onHand + command.delta < reserved) {
          throw new AdjustmentRefusedError(state.onHand, reserved, command.delta);
        }
        return { type: 'StockAdjusted', data: { delta: command.delta, reason: command.reason } };
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ProductRegistered':
        return { ...state, sku: event.data.sku, name: event.data.name, registered: true };
      case 'StockReceived':
        return { ...state, onHand: state.onHand + event.data.quantity };
      case 'StockReserved':
        return {
          ...state,
          reservations: { ...state.reservations, [event.data.orderId]: event.data.quantity },
        };
      case 'ReservationShipped': {
        const { [event.data.orderId]: _shipped, ...reservations } = state.reservations;
        return { ...state, onHand: state.onHand - event.data.quantity, reservations };
      }
      case 'StockAdjusted':
        return { ...state, onHand: state.onHand + event.data.delta };
    }
  },
};

function assertQuantity(quantity: number): void {
  if (!Number.isSafeInteger(quantity) || quantity <= 0) throw new InvalidQuantityError(quantity);
}
