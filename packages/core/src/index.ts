// Events and the store contract

export type { EventOfAggregate, HistoryEvent } from './aggregate.js';
// Aggregates and repository
export { EventSourcedAggregate, isSnapshotCapable } from './aggregate.js';
// The limits every store applies (the store-author kit is on @es/core/adapter)
export { MAX_BATCH_SIZE } from './append.js';
export type { SnapshotRequirement, SnapshotsSetting } from './builder.js';
export { EventSourcingBuilder } from './builder.js';
// Dynamic consistency boundaries: decisions over events selected by tags and types
export type {
  ComposedState,
  DcbDecider,
  DecideOptions,
  DecisionContext,
  DecisionResult,
  EventProjection,
  EventQueryScan,
  ScanEventQueryOptions,
} from './dcb.js';
export { composeProjections, decide, executeDcbDecider, scanEventQuery } from './dcb.js';
export type { Decider } from './decider.js';
export { DeciderAggregate, deciderFactory } from './decider.js';
export type { ErrorCodeValue, ValidationIssue } from './errors.js';
// Errors
export {
  AggregateNotFoundError,
  AppendConditionFailedError,
  ConcurrencyConflictError,
  ErrorCode,
  EventSerializationError,
  EventSourcingError,
  EventStoreUnavailableError,
  EventValidationError,
  InvalidArgumentError,
  isAggregateNotFoundError,
  isAppendConditionFailedError,
  isConcurrencyConflictError,
  isEventSerializationError,
  isEventSourcingError,
  isEventStoreUnavailableError,
  isEventValidationError,
  isInvalidArgumentError,
  isLeaseLostError,
  isStoreAuthenticationError,
  isStoreClosedError,
  isStoreDatabaseNotFoundError,
  isStoreNotMigratedError,
  isStorePermissionDeniedError,
  isStreamNotFoundError,
  isUnknownEventTypeError,
  LeaseLostError,
  StoreAuthenticationError,
  StoreClosedError,
  StoreDatabaseNotFoundError,
  StoreNotMigratedError,
  StorePermissionDeniedError,
  StreamNotFoundError,
  UnknownEventTypeError,
} from './errors.js';
export { uuidV7 } from './event-ids.js';
export type { AppendCondition, EventQueryItem } from './event-query.js';
export { EventQuery, MAX_QUERY_ITEMS } from './event-query.js';
export type { EncodedEvent, EventDefinition, EventOf, RawEvent, Upcaster } from './event-registry.js';
// Event types, schemas and upcasting
export { EventRegistry, typed } from './event-registry.js';
export type {
  AppendOptions,
  AppendResult,
  AppendSubscription,
  ConditionalAppendResult,
  EventStore,
  EventStoreOptions,
  QueryReadOptions,
  QueryReadResult,
  ReadAllOptions,
  ReadByTypeOptions,
  ReadStreamOptions,
  StoreCapabilities,
} from './event-store.js';
export type {
  DomainEvent,
  EventMetadata,
  EventOfType,
  EventType,
  NewEvent,
  Position,
  StoredEvent,
  StoredEventEnvelope,
} from './events.js';
export type { ExpectedVersionMarker, ExpectedVersionValue } from './expected-version.js';
export { ExpectedVersion, expectedVersionMismatch } from './expected-version.js';
export type { InMemoryEventStoreOptions } from './in-memory-event-store.js';
// The in-memory store
export { InMemoryEventStore, InMemoryStorage } from './in-memory-event-store.js';
// Projections: where they keep progress, parked events and leases
export type { CheckpointStore } from './projections/checkpoint-store.js';
export { InMemoryCheckpointStore } from './projections/in-memory-checkpoint-store.js';
export type { ParkedEvent, ParkedEventStore, ParkedRetryRequests } from './projections/parked-events.js';
export { InMemoryParkedEventStore } from './projections/parked-events.js';
export type {
  ConsumerGroupDescription,
  ConsumerGroupMember,
  LeaseFence,
  PartitionLease,
  PartitionLeaseStore,
} from './projections/partition-leases.js';
export {
  InMemoryPartitionLeaseStore,
  partitionOf,
  partitionSubscriptionId,
} from './projections/partition-leases.js';
export type {
  InMemoryProjectionLockOptions,
  ProjectionLease,
  ProjectionLock,
} from './projections/projection-lock.js';
export { InMemoryProjectionLock } from './projections/projection-lock.js';
export type { ProjectionBatch, ProjectionStore } from './projections/projection-store.js';
export { checkpointProjectionStore } from './projections/projection-store.js';
export type { AnyAggregate, RepositoryOptions, SaveOptions } from './repository.js';
export { EventSourcedRepository } from './repository.js';
export type { BackoffOptions, RetryOptions } from './retry.js';
export { backoffDelay, retryOnConcurrencyConflict } from './retry.js';
export type {
  Snapshot,
  SnapshotCapable,
  SnapshotDecision,
  SnapshotSerializer,
  SnapshotStore,
  SnapshotStrategy,
} from './snapshot.js';
export type { RepositorySnapshotOptions, SnapshotProblem } from './snapshot-policy.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export type { TelemetryOptions } from './telemetry.js';
export {
  spanContextFromMetadata,
  TRACEPARENT_METADATA_KEY,
  TRACESTATE_METADATA_KEY,
} from './telemetry.js';
export { instrumentEventStore } from './telemetry-store.js';
export {
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
  MAX_POSITION,
  MAX_SCHEMA_VERSION,
  MAX_TAGS_PER_EVENT,
} from './validation.js';
