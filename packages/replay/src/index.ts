export type { EventHandler } from './event-handler.js';
export type {
  AggregateReplayResult,
  EventReplayerOptions,
  ProgressReplayOptions,
  ReplayProgress,
  ReplayResult,
} from './event-replayer.js';
export { EventReplayer } from './event-replayer.js';
export { InMemoryCheckpointStore } from './in-memory-checkpoint-store.js';
export type { ParkedEvent, ParkedEventStore } from './parked-events.js';
export { describeError, InMemoryParkedEventStore } from './parked-events.js';
export { Projection } from './projection.js';
export type {
  InMemoryProjectionLockOptions,
  ProjectionLease,
  ProjectionLock,
} from './projection-lock.js';
export { InMemoryProjectionLock } from './projection-lock.js';
export type {
  ProjectionCommonOptions,
  ProjectionOptions,
  ProjectionRetryOptions,
  ProjectionStoreChoice,
  ProjectionWithStoreChoice,
} from './projection-options.js';
export type { ProjectionBatch, ProjectionStore } from './projection-store.js';
export { checkpointProjectionStore } from './projection-store.js';
export type { RebuildProjectionOptions } from './rebuild-projection.js';
export { rebuildProjection } from './rebuild-projection.js';
export type { ReplayOptions } from './replay-options.js';
export { DEFAULT_PARALLELISM } from './replay-options.js';
