import { createHash } from 'node:crypto';
import pg from 'pg';
import { EVENT_ROW_TYPES } from '../events/timestamp-parser.js';
import { quoteIdentifier } from '../schema/identifiers.js';
import type { SqlExecutor, SqlQuery, SqlSession, StopListening } from './sql-executor.js';

/** The part of a `pg` client the store uses. */
export interface PgClientLike {
  query(config: PgQueryConfig): Promise<{
    rows: unknown[];
  }>;
  release(destroy?: Error | boolean): void;
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** The part of a `pg.Pool` the store uses; any `pg.Pool` fits. */
export interface PgPoolLike {
  query(config: PgQueryConfig): Promise<{
    rows: unknown[];
  }>;
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

type PgQueryConfig = {
  text: string;
  values?: unknown[];
  name?: string;
  rowMode?: 'array';
  types?: typeof EVENT_ROW_TYPES;
};

/**
 * Array-mode queries are the event reads: they get the faster `timestamptz` parser. Only the keys
 * in use are set: `pg` copies the config of every query, appends included.
 */
function toConfig(query: SqlQuery): PgQueryConfig {
  const config: PgQueryConfig = { text: query.text, values: query.values as unknown[] | undefined };
  if (query.name !== undefined) config.name = statementName(query.name);
  if (query.rowMode === 'array') {
    config.rowMode = 'array';
    config.types = EVENT_ROW_TYPES;
  }
  return config;
}

// PostgreSQL truncates statement names to 63 bytes, so two long names that share a prefix (the same
// schema-qualified table, ":save" vs ":load") would collide with "already exists" (42P05). A long
// name is replaced by a digest of itself: still unique per statement.
const MAX_STATEMENT_NAME_BYTES = 63;

// Names come from a handful of statements per table, so the cache stays small.
const statementNames = new Map<string, string>();

export function statementName(name: string): string {
  let safe = statementNames.get(name);
  if (safe === undefined) {
    safe =
      Buffer.byteLength(name) <= MAX_STATEMENT_NAME_BYTES
        ? name
        : `es_${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
    statementNames.set(name, safe);
  }
  return safe;
}

function session(target: Pick<PgPoolLike, 'query'>): SqlSession {
  return {
    query: async <Row>(query: SqlQuery) => (await target.query(toConfig(query))).rows as Row[],
    exec: async (script: string) => {
      await target.query({ text: script });
    },
  };
}

/** Creates the executor for a server: over `pool`, or over a new pool for a connection string. */
export function createPgExecutor(connection: string | PgPoolLike): SqlExecutor {
  const ownsPool = typeof connection === 'string';
  const pool: PgPoolLike = ownsPool ? createPool(connection) : connection;
  return {
    kind: 'pg',
    ...session(pool),
    transaction: (work) => runTransaction(pool, work),
    listen: (channel, onNotify) => listen(pool, channel, onNotify),
    close: async () => {
      if (ownsPool) await pool.end();
    },
  };
}

function createPool(connectionString: string): PgPoolLike {
  const pool = new pg.Pool({ connectionString });
  // An idle pooled connection that the server drops emits 'error' on the pool; without a listener
  // Node would crash. The next query simply gets a fresh connection.
  pool.on('error', () => undefined);
  return pool as unknown as PgPoolLike;
}

async function runTransaction<T>(pool: PgPoolLike, work: (session: SqlSession) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query({ text: 'BEGIN' });
    const result = await work(session(client));
    await client.query({ text: 'COMMIT' });
    return result;
  } catch (error) {
    broken ??= await client.query({ text: 'ROLLBACK' }).then(
      () => undefined,
      (rollbackError: Error) => rollbackError,
    );
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken ?? false);
  }
}

async function listen(pool: PgPoolLike, channel: string, onNotify: () => void): Promise<StopListening> {
  const statement = `LISTEN ${quoteIdentifier(channel)}`;
  let client: PgClientLike | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = RECONNECT_MIN_MS;

  const onNotification = (message: { channel: string }) => {
    if (message.channel === channel) onNotify();
  };
  const connect = async () => {
    const next = await pool.connect();
    next.on('error', (error) => dropped(next, error));
    next.on('notification', onNotification);
    try {
      await next.query({ text: statement });
    } catch (error) {
      next.release(error as Error);
      throw error;
    }
    client = next;
  };
  const dropped = (which: PgClientLike, error: Error) => {
    if (client !== which) return;
    client = undefined;
    which.release(error);
    if (!stopped) schedule();
  };
  const schedule = () => {
    timer = setTimeout(async () => {
      try {
        await connect();
        delay = RECONNECT_MIN_MS;
        // Appends committed while the listener was down were not announced.
        onNotify();
      } catch {
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
        if (!stopped) schedule();
      }
    }, delay);
    timer.unref();
  };

  await connect();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const current = client;
    client = undefined;
    if (!current) return;
    await current.query({ text: `UNLISTEN ${quoteIdentifier(channel)}` }).then(
      () => current.release(),
      (error: Error) => current.release(error),
    );
  };
}
