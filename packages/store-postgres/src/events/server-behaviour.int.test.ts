import {
  ExpectedVersion,
  isEventStoreUnavailableError,
  isInvalidArgumentError,
  isStoreNotMigratedError,
} from '@es/core';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

const opened = { type: 'Opened', data: {} };

describeWithService('PostgresEventStore on a server: notifications and errors', 'DATABASE_URL', (url) => {
  let executor: SqlExecutor;
  const schema = uniqueSchema();

  beforeAll(async () => {
    executor = createSqlExecutor(url);
    await migrate({ connection: executor, schema });
  });

  afterAll(async () => {
    await dropSchema(executor, schema);
    await executor.close();
  });

  it('wakes a subscriber in another process (another pool) after a commit', async () => {
    const follower = new PostgresEventStore({ connection: url, schema });
    const writer = new PostgresEventStore({ connection: url, schema });
    let woken = 0;
    const subscription = await follower.subscribeToAppends(() => {
      woken += 1;
    });
    await writer.appendEvents('notified-1', ExpectedVersion.NoStream, [opened]);
    for (let i = 0; i < 100 && woken === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woken).toBe(1);
    await subscription.close();
    await follower.close();
    await writer.close();
  });

  it('reports an unreachable server as EventStoreUnavailableError with the driver error as cause', async () => {
    const store = new PostgresEventStore({ connection: 'postgres://postgres@127.0.0.1:1/none', schema });
    const error = await store.appendEvents('s', ExpectedVersion.Any, [opened]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEventStoreUnavailableError(error)).toBe(true);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect((error as Error).message).toMatch(/append to stream "s"/);
    await store.close();
  });

  it('points at migrate() when the table does not exist', async () => {
    const store = new PostgresEventStore({ connection: url, schema: uniqueSchema('es_missing') });
    const error = await store.getEvents('s').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreNotMigratedError(error)).toBe(true);
    expect((error as Error).message).toMatch(/run migrate\(\)/);
    await store.close();
  });

  it('refuses a hostile schema or table name before any SQL reaches the pool', async () => {
    const pool = new pg.Pool({ connectionString: url });
    const statements: unknown[] = [];
    const spy = new Proxy(pool, {
      get(target, property, receiver) {
        if (property === 'query' || property === 'connect') {
          return (...args: unknown[]) => {
            statements.push(args[0]);
            return Reflect.apply(Reflect.get(target, property, receiver), target, args);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    for (const options of [
      { schema: `${schema}"; DROP SCHEMA ${schema} CASCADE; --` },
      { schema, table: 'events; DROP TABLE events' },
      { schema: 'pg_temp' },
    ]) {
      let caught: unknown;
      try {
        new PostgresEventStore({ connection: spy, ...options });
      } catch (error) {
        caught = error;
      }
      expect(isInvalidArgumentError(caught)).toBe(true);
    }
    expect(statements).toEqual([]);
    // The real schema is untouched.
    const store = new PostgresEventStore({ connection: pool, schema });
    expect(await store.streamExists('notified-1')).toBe(true);
    await pool.end();
  });
});
