/**
 * Domain errors: a command the product refuses. Each has a stable `code` and says what to do.
 * Nothing is recorded when one is thrown.
 */
export abstract class WarehouseError extends Error {
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A command for a product that was never registered. */
export class ProductNotRegisteredError extends WarehouseError {
  readonly code = 'WAREHOUSE_PRODUCT_NOT_REGISTERED';
  constructor() {
    super('The product is not registered: register it before receiving or moving stock.');
  }
}

/** Registering a SKU twice. */
export class ProductAlreadyRegisteredError extends WarehouseError {
  readonly code = 'WAREHOUSE_PRODUCT_EXISTS';
  constructor(readonly sku: string) {
    super(`Product ${sku} is already registered.`);
  }
}

/** A reservation larger than the stock not yet reserved. */
export class InsufficientStockError extends WarehouseError {
  readonly code = 'WAREHOUSE_INSUFFICIENT_STOCK';
  constructor(
    readonly sku: string,
    readonly available: number,
    readonly requested: number,
  ) {
    super(`Only ${available} of ${sku} available, ${requested} requested: receive more stock first.`);
  }
}

/** Shipping an order that holds no reservation, or reserving twice for one order. */
export class ReservationError extends WarehouseError {
  readonly code = 'WAREHOUSE_RESERVATION';
  constructor(
    readonly orderId: string,
    reason: string,
  ) {
    super(`Order ${orderId}: ${reason}`);
  }
}

/** An adjustment that would leave less stock on hand than is reserved (or below zero). */
export class AdjustmentRefusedError extends WarehouseError {
  readonly code = 'WAREHOUSE_ADJUSTMENT_REFUSED';
  constructor(
    readonly onHand: number,
    readonly reserved: number,
    readonly delta: number,
  ) {
    super(
      `Adjusting by ${delta} would leave ${onHand + delta} on hand, fewer than the ${reserved} reserved: ` +
        'count again, or release reservations first.',
    );
  }
}

/** A quantity that is not a positive whole number. */
export class InvalidQuantityError extends WarehouseError {
  readonly code = 'WAREHOUSE_INVALID_QUANTITY';
  constructor(readonly quantity: unknown) {
    super(`Invalid quantity ${String(quantity)}: use a positive whole number.`);
  }
}

/** True for any error the warehouse domain throws. */
export function isWarehouseError(error: unknown): error is WarehouseError {
  return (
    error instanceof Error &&
    typeof (error as Partial<WarehouseError>).code === 'string' &&
    (error as WarehouseError).code.startsWith('WAREHOUSE_')
  );
}
