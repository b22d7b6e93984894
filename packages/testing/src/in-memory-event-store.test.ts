import { InMemoryEventStore } from '@es/core';
import { describeEventStoreContract } from '@es/testing';

describeEventStoreContract({
  name: 'InMemoryEventStore',
  create: async ({ registry, sameStorageAs }) =>
    new InMemoryEventStore({ registry, storage: (sameStorageAs as InMemoryEventStore | undefined)?.storage }),
});
