import { describeSnapshotStoreContract } from '@es/testing';
import { InMemorySnapshotStore } from './in-memory-snapshot-store.js';

describeSnapshotStoreContract({
  name: 'InMemorySnapshotStore',
  create: async () => new InMemorySnapshotStore(),
});
