import {
  type CheckpointStore,
  checkpointProjectionStore,
  InMemoryCheckpointStore,
  InMemoryParkedEventStore,
  InMemoryProjectionLock,
} from '@es/core';
import {
  describeParkedEventStoreContract,
  describeProjectionLockContract,
  describeProjectionStoreContract,
} from '@es/testing';

describeParkedEventStoreContract({
  name: 'InMemoryParkedEventStore',
  create: async () => new InMemoryParkedEventStore(),
});

const atLeastOnce =
  'checkpointProjectionStore stores the checkpoint after the handler, apart from the read model';

describeProjectionStoreContract({
  name: 'checkpointProjectionStore over InMemoryCheckpointStore',
  create: async () =>
    checkpointProjectionStore(new InMemoryCheckpointStore(), new InMemoryParkedEventStore()),
  limitations: { transactional: atLeastOnce },
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
