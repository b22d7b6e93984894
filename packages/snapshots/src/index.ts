// Strategies: when the repository takes a snapshot

// Stores
export { FrequencySnapshotStrategy } from './frequency-snapshot-strategy.js';
export { HybridSnapshotStrategy } from './hybrid-snapshot-strategy.js';
export { InMemorySnapshotStore } from './in-memory-snapshot-store.js';
// Serialization: state to JSON and back
export type { JsonSnapshotSerializerOptions } from './json-snapshot-serializer.js';
export { JsonSnapshotSerializer } from './json-snapshot-serializer.js';
export type { SnapshotPredicate } from './predicate-snapshot-strategy.js';
export { PredicateSnapshotStrategy } from './predicate-snapshot-strategy.js';
export {
  isSnapshotSerializationError,
  SnapshotSerializationError,
} from './snapshot-serialization-error.js';
export type { SnapshotTypeCodec } from './snapshot-type-codec.js';
export { MAX_CODEC_NESTING } from './tagged-json.js';
export { TimeBasedSnapshotStrategy } from './time-based-snapshot-strategy.js';
