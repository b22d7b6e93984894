// Connections and the SQL executor shared by every PostgreSQL store of this package
export type { PostgresConnection, PostgresConnectionOptions } from './connection/connection.js';
export { createSqlExecutor } from './connection/connection.js';
export type { PgClientLike, PgPoolLike } from './connection/pg-executor.js';
export type { PGliteLike } from './connection/pglite-executor.js';
export type { SqlExecutor, SqlQuery, SqlSession, StopListening } from './connection/sql-executor.js';
// Embedded PostgreSQL (PGlite) in a data directory, one process at a time
export type {
  DataDirLock,
  EmbeddedDatabaseHolder,
  EmbeddedPostgres,
  LockDataDirOptions,
  OpenEmbeddedPostgresOptions,
} from './embedded/index.js';
export {
  EMBEDDED_DATABASE_LOCKED,
  EMBEDDED_LOCK_FILE,
  EmbeddedDatabaseLockedError,
  isEmbeddedDatabaseLockedError,
  lockDataDir,
  openEmbeddedPostgres,
  readDataDirLock,
} from './embedded/index.js';
export type { CoalesceOptions } from './events/coalescer.js';
export { notificationChannel, POSITION_INDEX_BITS } from './events/position.js';
// The event store
export type { PostgresEventStoreOptions } from './events/postgres-event-store.js';
export { PostgresEventStore } from './events/postgres-event-store.js';
// Checkpoints, exactly-once projections, consumer-group leases and the single-instance lock (used
// with @es/replay)
export {
  PostgresCheckpointStore,
  type PostgresCheckpointStoreOptions,
} from './projections/postgres-checkpoint-store.js';
export {
  PostgresPartitionLeaseStore,
  type PostgresPartitionLeaseStoreOptions,
} from './projections/postgres-partition-lease-store.js';
export {
  PostgresProjectionLock,
  type PostgresProjectionLockOptions,
} from './projections/postgres-projection-lock.js';
export {
  type PostgresProjectionContext,
  PostgresProjectionStore,
  type PostgresProjectionStoreOptions,
} from './projections/postgres-projection-store.js';
export type { StoreNames } from './schema/identifiers.js';
export {
  assertSqlIdentifier,
  MAX_SCHEMA_NAME_LENGTH,
  MAX_TABLE_NAME_LENGTH,
  quoteIdentifier,
  storeNames,
} from './schema/identifiers.js';
// Migrations
export type { MigrateOptions, MigrateResult } from './schema/migrate.js';
export { MIGRATIONS_TABLE, migrate } from './schema/migrate.js';
export type { MigrationFile } from './schema/migration-files.js';
export { defaultMigrationsDirectory, readMigrationFiles } from './schema/migration-files.js';
export {
  PostgresSnapshotStore,
  type PostgresSnapshotStoreOptions,
} from './snapshots/postgres-snapshot-store.js';
