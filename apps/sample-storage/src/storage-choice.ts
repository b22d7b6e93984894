/** Which store the app runs on, and where its data is. */
export type StorageChoice =
  | { readonly kind: 'pglite'; readonly dataDir: string; readonly schema: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string }
  | { readonly kind: 'mongodb'; readonly url: string; readonly database: string }
  | { readonly kind: 'memory' };

/** The environment variables the choice reads. */
export interface StorageEnv {
  /** `memory`, `pglite`, `postgres` or `mongodb`: forces a store. Defaults to choosing by the URLs. */
  readonly ES_STORE?: string;
  /** A PostgreSQL server: `postgres://user@host:5432/db`. */
  readonly DATABASE_URL?: string;
  /** A MongoDB replica set: `mongodb://host:27017/?replicaSet=rs0`. */
  readonly MONGO_URL?: string;
  /** Where PGlite keeps its files. Defaults to the app's `.data` folder. */
  readonly ES_DATA_DIR?: string;
  /** PostgreSQL schema or MongoDB database. Defaults to the app's name. */
  readonly ES_SCHEMA?: string;
  /** On PGlite: how long to wait for another process using the folder, in ms. Defaults to 30000. */
  readonly ES_LOCK_WAIT_MS?: string;
}

/** The environment asks for a store that does not exist, or lacks what the store needs. */
export class StorageChoiceError extends Error {
  readonly code = 'SAMPLE_STORAGE_CHOICE';

  constructor(message: string) {
    super(message);
    this.name = 'StorageChoiceError';
  }
}

/** True for a `StorageChoiceError`. */
export function isStorageChoiceError(error: unknown): error is StorageChoiceError {
  return error instanceof Error && (error as { code?: unknown }).code === 'SAMPLE_STORAGE_CHOICE';
}

/**
 * Chooses the store from the environment: `ES_STORE` if set; else MongoDB when `MONGO_URL` is set,
 * a PostgreSQL server when `DATABASE_URL` is, and otherwise PGlite in `dataDir`, the embedded
 * default that needs no server.
 */
export function chooseStorage(env: StorageEnv, defaults: { dataDir: string; schema: string }): StorageChoice {
  const schema = env.ES_SCHEMA || defaults.schema;
  const dataDir = env.ES_DATA_DIR || defaults.dataDir;
  const forced = env.ES_STORE?.trim().toLowerCase();
  const kind = forced || (env.MONGO_URL ? 'mongodb' : env.DATABASE_URL ? 'postgres' : 'pglite');
  switch (kind) {
    case 'memory':
      return { kind };
    case 'pglite':
      return { kind, dataDir, schema };
    case 'postgres':
      return { kind, url: required(env.DATABASE_URL, 'DATABASE_URL', kind), schema };
    case 'mongodb':
      return { kind, url: required(env.MONGO_URL, 'MONGO_URL', kind), database: schema };
    default:
      throw new StorageChoiceError(
        `ES_STORE="${env.ES_STORE}" is not a store: use memory, pglite, postgres or mongodb.`,
      );
  }
}

function required(value: string | undefined, name: string, kind: string): string {
  if (!value) throw new StorageChoiceError(`ES_STORE=${kind} needs ${name}.`);
  return value;
}
