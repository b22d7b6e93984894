import { describeCheckpointStoreContract } from '@es/testing';
import { InMemoryCheckpointStore } from './index.js';

describeCheckpointStoreContract({
  name: 'InMemoryCheckpointStore',
  create: async () => new InMemoryCheckpointStore(),
});
