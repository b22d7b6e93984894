// Run by contract-limitations.test.ts in a separate jest process: the contracts' own results are
// what that test inspects. Not a test file of its own (it does not match testMatch).
import {
  type CheckpointStore,
  checkpointProjectionStore,
  InMemoryEventStore,
  InMemoryParkedEventStore,
  type Position,
} from '@es/core';
import { describe } from '@jest/globals';
import { describeCheckpointStoreContract } from '../checkpoint-store-contract.js';
import { registryContract } from '../event-store-contract/registry.js';
import { describeProjectionStoreContract } from '../projection-store-contract.js';

/** A checkpoint store without the optional compare-and-set. */
class PlainCheckpointStore implements CheckpointStore {
  readonly #positions = new Map<string, Position>();
  async load(id: string) {
    if (typeof id !== 'string' || id.length === 0) throw invalid('subscription id');
    return this.#positions.get(id);
  }
  async save(id: string, position: Position) {
    if (typeof position !== 'bigint' || position < 0n) throw invalid('position');
    this.#positions.set(id, position);
  }
  async reset(id: string) {
    this.#positions.delete(id);
  }
}

function invalid(argument: string): Error {
  return Object.assign(new Error(`Invalid ${argument}`), {
    code: 'ES_INVALID_ARGUMENT',
    [Symbol.for('@es/core/error')]: true,
  });
}

describeCheckpointStoreContract({ name: 'undeclared', create: async () => new PlainCheckpointStore() });
describeCheckpointStoreContract({
  name: 'declared',
  create: async () => new PlainCheckpointStore(),
  limitations: { saveIf: 'this test store has no compare-and-set' },
});

describe('registry contract with a declared limitation', () => {
  registryContract({
    name: 'InMemoryEventStore',
    create: async (options) => new InMemoryEventStore({ registry: options.registry }),
    limitations: { sharedStorage: 'this test store cannot share storage' },
  });
});

// At-least-once and without compare-and-set, declared or not.
describeProjectionStoreContract({
  name: 'undeclared projection store',
  create: async () => checkpointProjectionStore(new PlainCheckpointStore(), new InMemoryParkedEventStore()),
});
describeProjectionStoreContract({
  name: 'declared projection store',
  create: async () => checkpointProjectionStore(new PlainCheckpointStore(), new InMemoryParkedEventStore()),
  limitations: { compareAndSet: 'no saveIf underneath', transactional: 'at-least-once' },
});
