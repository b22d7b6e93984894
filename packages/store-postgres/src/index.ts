// Connections and the SQL executor shared by every PostgreSQL store of this package
export type { PostgresConnection } from './connection.js';
export { createSqlExecutor } from './connection.js';
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
export type { StoreNames } from './identifiers.js';
export {
  assertSqlIdentifier,
  MAX_SCHEMA_NAME_LENGTH,
  MAX_TABLE_NAME_LENGTH,
  quoteIdentifier,
  storeNames,
} from './identifiers.js';
// Migrations
export type { MigrateOptions, MigrateResult } from './migrate.js';
export { MIGRATIONS_TABLE, migrate } from './migrate.js';
export type { MigrationFile } from './migration-files.js';
export { defaultMigrationsDirectory, readMigrationFiles } from './migration-files.js';
export type { PgClientLike, PgPoolLike } from './pg-executor.js';
export type { PGliteLike } from './pglite-executor.js';
export { MAX_EVENTS_PER_APPEND, notificationChannel, POSITION_INDEX_BITS } from './position.js';
// Checkpoints, exactly-once projections and the single-instance lock (used with @es/replay)
export {
  PostgresCheckpointStore,
  type PostgresCheckpointStoreOptions,
} from './postgres-checkpoint-store.js';
// The event store
export type { PostgresEventStoreOptions } from './postgres-event-store.js';
export { PostgresEventStore } from './postgres-event-store.js';
export { PostgresProjectionLock, type PostgresProjectionLockOptions } from './postgres-projection-lock.js';
export { PostgresProjectionStore, type PostgresProjectionStoreOptions } from './postgres-projection-store.js';
export type {
  PostgresParkedEvent,
  PostgresProjectionBatch,
  PostgresProjectionContext,
  PostgresProjectionLease,
} from './postgres-projection-types.js';
export { PostgresSnapshotStore, type PostgresSnapshotStoreOptions } from './postgres-snapshot-store.js';
export type { SqlExecutor, SqlQuery, SqlSession, StopListening } from './sql-executor.js';
