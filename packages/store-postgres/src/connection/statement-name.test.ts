import { describe, expect, it } from '@jest/globals';
import { createSqlExecutor } from './connection.js';
import { statementName } from './pg-executor.js';
import type { SqlExecutor, SqlQuery } from './sql-executor.js';

describe('prepared statement names', () => {
  it('keeps short names and shortens long ones without collisions', () => {
    expect(statementName('es-stream:"public"."events"')).toBe('es-stream:"public"."events"');
    const table = '"warehouse_app_mwxljhww_wuu2ts"."events_snapshots"';
    const save = statementName(`es-snapshot:${table}:save`);
    const load = statementName(`es-snapshot:${table}:load`);
    expect(Buffer.byteLength(save)).toBeLessThanOrEqual(63);
    expect(save).not.toBe(load);
    expect(statementName(`es-snapshot:${table}:save`)).toBe(save);
  });
});

describe('preparedStatements: false', () => {
  const recorder = () => {
    const names: (string | undefined)[] = [];
    const session = {
      query: async (query: SqlQuery) => {
        names.push(query.name);
        return [];
      },
      exec: async () => undefined,
    };
    const executor: SqlExecutor = {
      kind: 'pg',
      ...session,
      transaction: (work) => work(session),
      listen: async () => async () => undefined,
      close: async () => undefined,
    };
    return { executor, names };
  };

  it('drops the name of every statement, in and out of transactions', async () => {
    const { executor, names } = recorder();
    const unnamed = createSqlExecutor(executor, { preparedStatements: false });
    await unnamed.query({ name: 'es-a', text: 'SELECT 1' });
    await unnamed.transaction((session) => session.query({ name: 'es-b', text: 'SELECT 2' }));
    await createSqlExecutor(unnamed, { preparedStatements: false }).query({ name: 'es-c', text: 'SELECT 3' });
    expect(names).toEqual([undefined, undefined, undefined]);
  });

  it('keeps names by default, and refuses a value that is not a boolean', async () => {
    const { executor, names } = recorder();
    await createSqlExecutor(executor).query({ name: 'es-a', text: 'SELECT 1' });
    expect(names).toEqual(['es-a']);
    expect(() => createSqlExecutor(executor, { preparedStatements: 'no' as never })).toThrow(
      /preparedStatements/,
    );
  });
});
