export type { MongoConnectionOptions } from './connection.js';
export type { CollectionRole, MongoIndexSpec, MongoMigration } from './migrations.js';
export { MONGO_MIGRATIONS } from './migrations.js';
export type { MongoEventStoreOptions } from './mongo-event-store.js';
export { MongoEventStore } from './mongo-event-store.js';
export type { MigrationOutcome } from './schema.js';
export { MIGRATIONS_COLLECTION } from './schema.js';
