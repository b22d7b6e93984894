// @es/core/adapter: the kit for writing an event store or snapshot store adapter. Every store
// validates, reads and decodes through these, so they refuse the same inputs and behave alike.
// Application code does not need them: it uses the main entry, @es/core.

export type { PrepareAppendOptions, PreparedAppend, PreparedEvent, StoredEventLocation } from './append.js';
// The user-facing limits, also on the main entry.
export { MAX_BATCH_SIZE, prepareAppend, resolveRetriedAppend } from './append.js';
export { assertValidSnapshot } from './assert-valid-snapshot.js';
export { decodeStoredEvent } from './decode.js';
export { assertLeaseArguments, assertSamePartitionCount } from './projections/partition-leases.js';
export {
  DEFAULT_BATCH_SIZE,
  readAllOptions,
  readByTypeArguments,
  readStreamArguments,
} from './read-arguments.js';
export {
  assertEventType,
  assertExpectedVersion,
  assertJsonSerializable,
  assertPosition,
  assertPositiveInteger,
  assertStreamId,
  assertVersionNumber,
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
  MAX_POSITION,
  MAX_SCHEMA_VERSION,
} from './validation.js';
