export type { ConsumerGroupWorkerStatus, OwnedPartitionStatus } from './consumer-group.js';
export { ConsumerGroup } from './consumer-group.js';
export type {
  ConsumerGroupCommonOptions,
  ConsumerGroupEventInfo,
  ConsumerGroupHandler,
  ConsumerGroupOptions,
  PreviousVersion,
} from './consumer-group-options.js';
export type { ConsumerGroupPartitionStatus, DescribeConsumerGroupOptions } from './consumer-group-status.js';
export { describeConsumerGroup } from './consumer-group-status.js';
export { describeError } from './describe-error.js';
export type { EventHandler } from './event-handler.js';
export type {
  AggregateReplayResult,
  EventReplayerOptions,
  ProgressReplayOptions,
  ReplayProgress,
  ReplayResult,
} from './event-replayer.js';
export { EventReplayer } from './event-replayer.js';
export { Projection } from './projection.js';
export type {
  ProjectionCommonOptions,
  ProjectionOptions,
  ProjectionRetryOptions,
  ProjectionStoreChoice,
  ProjectionWithStoreChoice,
} from './projection-options.js';
export type { RebuildProjectionOptions } from './rebuild-projection.js';
export { rebuildProjection } from './rebuild-projection.js';
export type { ReplayOptions } from './replay-options.js';
export { DEFAULT_PARALLELISM } from './replay-options.js';
export type { HandledPositions } from './skip-handled-events.js';
export { InMemoryHandledPositions, skipHandledEvents } from './skip-handled-events.js';
