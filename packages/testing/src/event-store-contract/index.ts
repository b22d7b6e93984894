import { describe, jest } from '@jest/globals';
import { appendContract } from './append.js';
import { badInputContract } from './bad-input.js';
import { concurrencyContract } from './concurrency.js';
import type { EventStoreContractConfig } from './context.js';
import { edgeValuesContract } from './edge-values.js';
import { globalLogContract } from './global-log.js';
import { readsContract } from './reads.js';
import { registryContract } from './registry.js';

export type { ContractLimitations, ContractStoreOptions, EventStoreContractConfig } from './context.js';

/**
 * The behaviour every `EventStore` adapter must show, as one jest suite: the four expected-version
 * modes, atomic batches, idempotent appends, stream / type / global reads, the invariants of
 * docs/invariants.md (in the repository) under concurrency, registries, bad input and values at the edge of the stores' ranges. Call it from an adapter's test file.
 *
 * @example
 * describeEventStoreContract({ name: 'InMemoryEventStore', create: async (o) => new InMemoryEventStore(o) });
 */
export function describeEventStoreContract(config: EventStoreContractConfig): void {
  describe(`EventStore contract: ${config.name}`, () => {
    jest.setTimeout(config.timeoutMs ?? 30_000);
    appendContract(config);
    concurrencyContract(config);
    readsContract(config);
    globalLogContract(config);
    registryContract(config);
    badInputContract(config);
    edgeValuesContract(config);
  });
}
