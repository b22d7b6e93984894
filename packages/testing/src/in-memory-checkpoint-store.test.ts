import { InMemoryCheckpointStore } from '@es/core';
import { describeCheckpointStoreContract } from '@es/testing';

describeCheckpointStoreContract({
  name: 'InMemoryCheckpointStore',
  create: async () => new InMemoryCheckpointStore(),
});
