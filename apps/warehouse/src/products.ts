import {
  type DeciderAggregate,
  deciderFactory,
  EventSourcedRepository,
  type EventStore,
  isConcurrencyConflictError,
  type RetryOptions,
  type SnapshotStore,
} from '@es/core';
import { FrequencySnapshotStrategy } from '@es/snapshots';
import { type ProductCommand, type ProductState, productDecider } from './domain/product.js';
import { ProductAlreadyRegisteredError } from './domain/product-errors.js';
import { PRODUCT_STREAM_PREFIX, type ProductEvent } from './domain/product-events.js';

/** A product loaded from its stream: the decider run as an aggregate. */
export type Product = DeciderAggregate<ProductState, ProductCommand, ProductEvent>;

/** The repository of products, keyed by SKU. */
export type ProductRepository = EventSourcedRepository<Product>;

export interface ProductRepositoryOptions {
  readonly eventStore: EventStore;
  readonly snapshots: SnapshotStore;
  /** Take a snapshot every this many events. Defaults to 5. */
  readonly snapshotEvery?: number;
}

/**
 * The products repository, configured with an options object (the bank app shows the builder).
 * The decider's state is plain data, so it is the snapshot as it is.
 */
export function createProductRepository(options: ProductRepositoryOptions): ProductRepository {
  return new EventSourcedRepository<Product>({
    eventStore: options.eventStore,
    factory: deciderFactory(productDecider),
    streamPrefix: PRODUCT_STREAM_PREFIX,
    snapshots: {
      store: options.snapshots,
      strategy: new FrequencySnapshotStrategy(options.snapshotEvery ?? 5),
    },
  });
}

const retry: RetryOptions = { maxRetries: 5, backoff: { initialDelayMs: 5 } };

/** Registers a new product; its SKU is its id. */
export async function registerProduct(
  products: ProductRepository,
  sku: string,
  name: string,
): Promise<Product> {
  const product = deciderFactory(productDecider)(sku);
  product.execute({ type: 'Register', sku, name });
  try {
    await products.save(product);
  } catch (error) {
    if (isConcurrencyConflictError(error)) throw new ProductAlreadyRegisteredError(sku);
    throw error;
  }
  return product;
}

/**
 * Runs a command on an existing product: load, decide, save, and on a concurrent update reload and
 * decide again (the stock may have changed in between, so the rules are checked afresh).
 */
export function handle(products: ProductRepository, sku: string, command: ProductCommand): Promise<Product> {
  return products.update(sku, (product) => void product.execute(command), retry);
}
