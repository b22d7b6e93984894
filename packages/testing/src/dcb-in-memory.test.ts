import { InMemoryEventStore } from '@es/core';
import { describeDcbContract } from '@es/testing';

// In one process every append is atomic by construction: fewer rounds show the same.
describeDcbContract({
  name: 'InMemoryEventStore',
  create: async ({ registry }) => new InMemoryEventStore({ registry }),
  rounds: 20,
});
