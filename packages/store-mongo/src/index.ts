export type { MongoConnectionOptions, MongoConnectionSource } from './connection/connection.js';
export type { LogReadConcern } from './connection/topology.js';
export type { EventDocument } from './events/event-document.js';
export type { MongoEventStoreOptions } from './events/mongo-event-store.js';
export { MongoEventStore } from './events/mongo-event-store.js';
export type {
  CheckpointDocument,
  MongoCheckpointStoreOptions,
} from './projections/mongo-checkpoint-store.js';
export { MongoCheckpointStore } from './projections/mongo-checkpoint-store.js';
export type {
  MongoParkedEventStoreOptions,
  ParkedEventDocument,
} from './projections/mongo-parked-event-store.js';
export { MongoParkedEventStore } from './projections/mongo-parked-event-store.js';
export type {
  ConsumerGroupDocument,
  ConsumerGroupKey,
  MongoPartitionLeaseStoreOptions,
} from './projections/mongo-partition-lease-store.js';
export { MongoPartitionLeaseStore } from './projections/mongo-partition-lease-store.js';
export type {
  MongoProjectionCollections,
  MongoProjectionContext,
  MongoProjectionStoreOptions,
} from './projections/mongo-projection-store.js';
export { MongoProjectionStore } from './projections/mongo-projection-store.js';
export type { MongoMigrateCollections, MongoMigrateOptions } from './schema/migrate.js';
export { migrate } from './schema/migrate.js';
export type { CollectionRole, MongoIndexSpec, MongoMigration } from './schema/migrations.js';
export { MONGO_MIGRATIONS } from './schema/migrations.js';
export type { MongoMigrationReport } from './schema/schema.js';
export { MIGRATIONS_COLLECTION } from './schema/schema.js';
export type { MongoSnapshotStoreOptions } from './snapshots/mongo-snapshot-store.js';
export { MongoSnapshotStore } from './snapshots/mongo-snapshot-store.js';
export type { SnapshotDocument } from './snapshots/snapshot-document.js';
