// Helpers shared by this package's tests (not part of the published API).
import { randomBytes } from 'node:crypto';
import type { SqlExecutor, SqlQuery } from '../connection/sql-executor.js';

/** A schema name no other test (or concurrently running package) uses. */
export function uniqueSchema(prefix = 'es_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(executor: SqlExecutor, schema: string): Promise<void> {
  await executor.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** An executor that records every statement and runs none: proves that nothing reached SQL. */
export function recordingExecutor(): SqlExecutor & { statements: string[] } {
  const statements: string[] = [];
  const record = async (query: SqlQuery | string) => {
    statements.push(typeof query === 'string' ? query : query.text);
    return [];
  };
  return {
    kind: 'pg',
    statements,
    query: record,
    exec: async (script) => {
      await record(script);
    },
    transaction: async (work) => work({ query: record, exec: async (script) => void (await record(script)) }),
    listen: async (channel) => {
      await record(`LISTEN ${channel}`);
      return async () => undefined;
    },
    close: async () => undefined,
  } as SqlExecutor & { statements: string[] };
}
