import {
  type CheckpointStore,
  checkpointProjectionStore,
  InMemoryCheckpointStore,
  InMemoryParkedEventStore,
  InMemoryPartitionLeaseStore,
  InMemoryProjectionLock,
} from '@es/core';
import {
  describeParkedEventStoreContract,
  describePartitionLeaseStoreContract,
  describeProjectionLockContract,
  describeProjectionStoreContract,
} from '@es/testing';

describeParkedEventStoreContract({
  name: 'InMemoryParkedEventStore',
  create: async () => new InMemoryParkedEventStore(),
});

const atLeastOnce =
  'checkpointProjectionStore stores the checkpoint after the handler, apart from the read model';

// One lease store per projection store, so the contract's fences are checked against it.
const leasesOf = new WeakMap<object, InMemoryPartitionLeaseStore>();

describeProjectionStoreContract({
  name: 'checkpointProjectionStore over InMemoryCheckpointStore',
  create: async () => {
    const leases = new InMemoryPartitionLeaseStore();
    const store = checkpointProjectionStore(
      new InMemoryCheckpointStore(),
      new InMemoryParkedEventStore(),
      leases,
    );
    leasesOf.set(store, leases);
    return store;
  },
  leases: async (store) => leasesOf.get(store)!,
  limitations: { transactional: atLeastOnce },
});

describePartitionLeaseStoreContract({
  name: 'InMemoryPartitionLeaseStore',
  create: async () => new InMemoryPartitionLeaseStore(),
});

// A checkpoint store with only save: the projection store cannot compare-and-set.
const withoutSaveIf = (): CheckpointStore => {
  const inner = new InMemoryCheckpointStore();
  return {
    load: (subscriptionId) => inner.load(subscriptionId),
    save: (subscriptionId, position) => inner.save(subscriptionId, position),
    reset: (subscriptionId) => inner.reset(subscriptionId),
  };
};

describeProjectionStoreContract({
  name: 'checkpointProjectionStore over a CheckpointStore without saveIf',
  create: async () => checkpointProjectionStore(withoutSaveIf(), new InMemoryParkedEventStore()),
  limitations: {
    compareAndSet: 'its CheckpointStore has no saveIf, so the checkpoint is saved whatever it was',
    transactional: atLeastOnce,
  },
});

describeProjectionLockContract({
  name: 'InMemoryProjectionLock',
  create: async () => new InMemoryProjectionLock({ ttlMs: 200 }),
  leaseTtlMs: 200,
});
