import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ConsoleSource } from './database.js';

/** The console's command line, read and checked. */
export interface ConsoleOptions {
  readonly source: ConsoleSource;
  readonly schema: string | undefined;
  readonly table: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly allowWrites: boolean;
  readonly token: string | undefined;
}

/** What `es console --help` prints. */
export const USAGE = `es console: browse an event store in the browser (streams, events, live log, consumers, parked events).

Usage: es console [options]

Where the events are (one of; default: the bank demo's folder, apps/eventsourcing-basic/.data/bank):
  --data-dir DIR       a PGlite (embedded PostgreSQL) data folder, opened per request
  --database-url URL   a PostgreSQL server (default: $DATABASE_URL when set)
  --schema NAME        the event table's schema (default: the one schema that has one)
  --table NAME         the event table (default: events)

Serving:
  --port N             default 4400 (0: any free port)
  --host ADDRESS       default 127.0.0.1 (this machine only); anything else is reachable by others
  --allow-writes       offer "retry" and "skip" on parked events; needs the token too
  --token TOKEN        the write token (default: $ES_CONSOLE_TOKEN, else generated and printed)
  -h, --help`;

/**
 * Reads the console's arguments. Relative folders are taken from where the command was typed
 * (`INIT_CWD`, which pnpm sets when it runs the script from the package folder).
 */
export function parseConsoleArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaultDataDir: string,
): ConsoleOptions | 'help' {
  const { values, positionals } = parseArgs({
    // `pnpm start -- --port 1` passes the `--` on: drop it rather than read the rest as positionals.
    args: args[0] === '--' ? args.slice(1) : [...args],
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      schema: { type: 'string' },
      table: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'allow-writes': { type: 'boolean' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (values['data-dir'] !== undefined && values['database-url'] !== undefined) {
    throw new Error('give --data-dir or --database-url, not both');
  }
  const base = env.INIT_CWD || process.cwd();
  const url = values['database-url'] ?? (values['data-dir'] === undefined ? env.DATABASE_URL : undefined);
  const source: ConsoleSource = url
    ? { kind: 'postgres', url }
    : { kind: 'pglite', dataDir: resolve(base, values['data-dir'] ?? defaultDataDir) };
  const portText = values.port ?? '4400';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) {
    throw new Error(`--port must be 0 to 65535, got "${portText}"`);
  }
  const token = values.token ?? env.ES_CONSOLE_TOKEN;
  if (token !== undefined && token.length < 12) {
    throw new Error('--token must be at least 12 characters (or leave it out to get a generated one)');
  }
  if (values.token !== undefined && !values['allow-writes']) {
    throw new Error('--token is only used with --allow-writes');
  }
  return {
    source,
    schema: values.schema,
    table: values.table,
    host: values.host ?? '127.0.0.1',
    port: Number(portText),
    allowWrites: values['allow-writes'] ?? false,
    token: values['allow-writes'] ? token : undefined,
  };
}
