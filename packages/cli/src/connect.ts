import type { Backend } from './backends/backend.js';
import { usageError } from './errors.js';

/** The connection options every command takes (see `es --help`). */
export interface ConnectionOptions {
  url?: string;
  dataDir?: string;
  mongoUrl?: string;
  database?: string;
  schema?: string;
  table?: string;
  wait?: string;
}

/**
 * Opens the store the options name: `--url` (or DATABASE_URL) for a PostgreSQL server, `--data-dir`
 * for an embedded PGlite data directory, `--mongo-url` (or MONGO_URL) for MongoDB. An explicit option
 * wins over the environment; two explicit ones are a usage error.
 */
export async function openBackend(options: ConnectionOptions, env: NodeJS.ProcessEnv): Promise<Backend> {
  const explicit = [options.url, options.dataDir, options.mongoUrl].filter((value) => value !== undefined);
  if (explicit.length > 1) {
    throw usageError(
      'Give one of --url, --data-dir and --mongo-url, not several.',
      'ES_CLI_CONNECTION_CONFLICT',
    );
  }
  const waitMs = options.wait === undefined ? 0 : Number(options.wait) * 1000;
  if (!Number.isFinite(waitMs) || waitMs < 0) {
    throw usageError(`--wait takes a number of seconds, got "${options.wait}".`);
  }
  const schema = options.schema ?? 'public';
  const table = options.table ?? 'events';
  // Each driver is loaded only when used: a PostgreSQL command does not load the MongoDB driver.
  const { openPostgresBackend } = await import('./backends/postgres.js');
  if (options.dataDir !== undefined)
    return openPostgresBackend({ dataDir: options.dataDir, schema, table, waitMs });
  const url = options.url ?? (options.mongoUrl === undefined ? env.DATABASE_URL : undefined);
  if (url !== undefined && url !== '') {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw usageError(
        `--url (or DATABASE_URL) must be a postgres:// or postgresql:// URL; for MongoDB use --mongo-url.`,
        'ES_CLI_BAD_URL',
      );
    }
    return openPostgresBackend({ url, schema, table, waitMs });
  }
  const mongoUrl = options.mongoUrl ?? env.MONGO_URL;
  if (mongoUrl !== undefined && mongoUrl !== '') {
    if (!/^mongodb(\+srv)?:\/\//.test(mongoUrl)) {
      throw usageError(
        '--mongo-url (or MONGO_URL) must be a mongodb:// or mongodb+srv:// URL.',
        'ES_CLI_BAD_URL',
      );
    }
    const { openMongoBackend } = await import('./backends/mongo.js');
    return openMongoBackend({
      url: mongoUrl,
      ...(options.database ? { database: options.database } : {}),
      collection: options.table ?? 'events',
    });
  }
  throw usageError(
    'Say where the store is: --url postgres://... (or DATABASE_URL), --data-dir <folder> (embedded PGlite), ' +
      'or --mongo-url mongodb://... (or MONGO_URL).',
    'ES_CLI_NO_CONNECTION',
  );
}
