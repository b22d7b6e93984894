// @es/core/adapter: the kit for writing an event store or snapshot store adapter. Every store
// validates, reads and decodes through these, so they refuse the same inputs and behave alike.
// Application code does not need them: it uses the main entry, @es/core.

export type {
  PrepareAppendOptions,
  PreparedAppend,
  PreparedConditionalAppend,
  PreparedEvent,
  StoredEventLocation,
} from './append.js';
// The user-facing limits, also on the main entry.
export {
  MAX_BATCH_SIZE,
  prepareAppend,
  prepareConditionalAppend,
  resolveRetriedAppend,
  STREAMLESS_STREAM_PREFIX,
} from './append.js';
export { assertValidSnapshot } from './assert-valid-snapshot.js';
export { decodeStoredEvent } from './decode.js';
export type {
  PreparedAppendCondition,
  PreparedEventQuery,
  PreparedEventQueryItem,
  QueryableEvent,
} from './event-query.js';
export { matchesEventQuery, prepareAppendCondition, prepareEventQuery } from './event-query.js';
export { assertLeaseArguments, assertSamePartitionCount } from './projections/partition-leases.js';
export {
  DEFAULT_BATCH_SIZE,
  readAllOptions,
  readByTypeArguments,
  readQueryArguments,
  readStreamArguments,
} from './read-arguments.js';
export {
  assertEventType,
  assertExpectedVersion,
  assertJsonSerializable,
  assertPosition,
  assertPositiveInteger,
  assertStreamId,
  assertTag,
  assertTagList,
  assertVersionNumber,
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
  MAX_POSITION,
  MAX_SCHEMA_VERSION,
  MAX_TAGS_PER_EVENT,
} from './validation.js';
