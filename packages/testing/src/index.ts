export type { AggregateFixtureOptions, AggregateGiven, AggregateOutcome } from './aggregate-fixture.js';
export { aggregateFixture } from './aggregate-fixture.js';
export {
  type CheckpointStoreContractConfig,
  type CheckpointStoreContractLimitations,
  describeCheckpointStoreContract,
} from './checkpoint-store-contract.js';
export type { ErrorMatcher } from './compare.js';
export { type DcbContractConfig, describeDcbContract } from './dcb-contract.js';
export type { DeciderOutcome } from './decider-fixture.js';
export { deciderFixture } from './decider-fixture.js';
export { describeWithService } from './describe-with-service.js';
export type {
  ContractLimitations,
  ContractStoreOptions,
  EventStoreContractConfig,
} from './event-store-contract/index.js';
export { describeEventStoreContract } from './event-store-contract/index.js';
export {
  describeParkedEventStoreContract,
  type ParkedEventStoreContractConfig,
} from './parked-event-store-contract.js';
export {
  describePartitionLeaseStoreContract,
  type PartitionLeaseStoreContractConfig,
} from './partition-lease-store-contract.js';
export {
  describeProjectionLockContract,
  type ProjectionLockContractConfig,
  type ProjectionLockContractLimitations,
} from './projection-lock-contract.js';
export {
  describeProjectionStoreContract,
  type ProjectionStoreContractConfig,
  type ProjectionStoreContractLimitations,
  type ProjectionStoreWrites,
} from './projection-store-contract.js';
export type { StreamRead } from './record-stream-reads.js';
export { recordStreamReads } from './record-stream-reads.js';
export {
  describeSnapshotStoreContract,
  type SnapshotStoreContractConfig,
} from './snapshot-store-contract.js';
export { expectStoreClosed, failureOf } from './store-closed.js';
