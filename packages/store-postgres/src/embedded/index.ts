export type { DataDirLock, LockDataDirOptions } from './data-dir-lock.js';
export { EMBEDDED_LOCK_FILE, lockDataDir, readDataDirLock } from './data-dir-lock.js';
export type { EmbeddedDatabaseHolder } from './errors.js';
export {
  EMBEDDED_DATABASE_LOCKED,
  EmbeddedDatabaseLockedError,
  isEmbeddedDatabaseLockedError,
} from './errors.js';
export type { EmbeddedPostgres, OpenEmbeddedPostgresOptions } from './open-embedded-postgres.js';
export { openEmbeddedPostgres } from './open-embedded-postgres.js';
