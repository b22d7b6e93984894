import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isEventStoreUnavailableError,
  isStoreAuthenticationError,
  isStoreDatabaseNotFoundError,
  isStoreNotMigratedError,
  isStorePermissionDeniedError,
} from '@es/core';
import { describeWithService, failureOf } from '@es/testing';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../src/connection/connection.js';
import type { SqlExecutor } from '../src/connection/sql-executor.js';
import { PostgresEventStore } from '../src/events/postgres-event-store.js';
import { PostgresCheckpointStore } from '../src/projections/postgres-checkpoint-store.js';
import { migrate } from '../src/schema/migrate.js';
import { closedStoreTests } from '../src/testing/lifecycle.suite.js';
import { dropSchema, uniqueSchema } from '../src/testing/test-support.js';

/** A local port nothing listens on (taken, then released). */
async function sparePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function withDatabase(url: string, database: string, user?: string, password?: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (user !== undefined) parsed.username = user;
  if (password !== undefined) parsed.password = password;
  return parsed.toString();
}

describeWithService(
  'PostgreSQL errors an operator must fix, and closed stores, on a server',
  'DATABASE_URL',
  (url) => {
    jest.setTimeout(60_000);
    let admin: SqlExecutor;
    const schemas: string[] = [];
    const roles: string[] = [];

    beforeAll(() => {
      admin = createSqlExecutor(url);
    });

    afterAll(async () => {
      for (const schema of schemas) await dropSchema(admin, schema);
      for (const role of roles) await admin.exec(`DROP ROLE IF EXISTS "${role}"`);
      await admin.close();
    });

    describe('closed stores over a connection string', () => {
      closedStoreTests(
        () => url,
        () => admin,
      );
    });

    describe('closed stores over a pool the caller keeps', () => {
      let pool: pg.Pool;
      beforeAll(() => {
        pool = new pg.Pool({ connectionString: url, max: 4 });
      });
      afterAll(async () => {
        await pool.end();
      });
      closedStoreTests(
        () => pool,
        () => admin,
      );
    });

    it('migrate() as an application role that may only read and append: StorePermissionDeniedError', async () => {
      const schema = uniqueSchema('es_perm');
      schemas.push(schema);
      await migrate({ connection: admin, schema });
      const role = `es_app_${schema.slice(-12)}`;
      roles.push(role);
      await admin.exec(`CREATE ROLE "${role}" LOGIN;
      GRANT USAGE ON SCHEMA "${schema}" TO "${role}";
      GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA "${schema}" TO "${role}"`);
      const asApp = withDatabase(url, new URL(url).pathname.slice(1), role);
      const error = await failureOf(() =>
        migrate({ connection: asApp, schema: uniqueSchema('es_perm_new') }),
      );
      expect(isStorePermissionDeniedError(error)).toBe(true);
      expect(isEventStoreUnavailableError(error)).toBe(false);
      expect((error as Error).message).toMatch(/42501/);
      expect((error as Error).message).toMatch(/grant it, or run this as a role that has it/);
      expect((error as Error).message).not.toMatch(/append|event ids/);
      // Re-running the migrations of its own schema is refused as well, with the same error.
      const again = await failureOf(() =>
        migrate({
          connection: asApp,
          schema,
          migrations: [{ version: 99, name: '099_x.sql', checksum: 'x', sql: 'CREATE TABLE t99 (id int)' }],
        }),
      );
      expect(isStorePermissionDeniedError(again)).toBe(true);
      await admin.exec(`REVOKE ALL ON ALL TABLES IN SCHEMA "${schema}" FROM "${role}";
      REVOKE ALL ON SCHEMA "${schema}" FROM "${role}"`);
    });

    it('a database that does not exist: StoreDatabaseNotFoundError, from migrate() and from a store', async () => {
      const missing = withDatabase(url, `es_missing_${Date.now()}`);
      const fromMigrate = await failureOf(() => migrate({ connection: missing }));
      expect(isStoreDatabaseNotFoundError(fromMigrate)).toBe(true);
      expect((fromMigrate as Error).message).toMatch(/3D000.*does not exist: create it/s);
      const store = new PostgresEventStore({ connection: missing });
      try {
        const fromRead = await failureOf(() => store.getStreamVersion('s'));
        expect(isStoreDatabaseNotFoundError(fromRead)).toBe(true);
      } finally {
        await store.close();
      }
    });

    it('a schema that was never migrated: StoreNotMigratedError for appends (42883), reads (42P01) and checkpoints', async () => {
      const schema = uniqueSchema('es_unmigrated');
      schemas.push(schema);
      await admin.exec(`CREATE SCHEMA "${schema}"`);
      const store = new PostgresEventStore({ connection: url, schema });
      const checkpoints = new PostgresCheckpointStore({ connection: url, schema });
      try {
        const append = await failureOf(() => store.appendEvents('s', 'any', [{ type: 'Opened', data: {} }]));
        expect(isStoreNotMigratedError(append)).toBe(true);
        expect((append as Error).message).toMatch(/run migrate\(\)/);
        expect((append as Error).message).not.toMatch(/event ids/);
        const read = await failureOf(() => store.getEvents('s'));
        expect(isStoreNotMigratedError(read)).toBe(true);
        expect((read as Error).message).toMatch(/42P01/);
        expect(isStoreNotMigratedError(await failureOf(() => checkpoints.load('p')))).toBe(true);
      } finally {
        await store.close();
        await checkpoints.close();
      }
    });

    it('migrate() against a refused connection is "unavailable" and says nothing about appends', async () => {
      const refused = `postgres://postgres@127.0.0.1:${await sparePort()}/test`;
      const error = await failureOf(() => migrate({ connection: refused }));
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
      expect((error as Error).message).toMatch(/retrying later can succeed/);
      expect((error as Error).message).not.toMatch(/append|event ids/);
    });

    // This server trusts 127.0.0.1, so a wrong password cannot fail here: the test starts its own
    // server (initdb + pg_ctl, as the postgres OS user) with password authentication on a spare
    // port, and stops it afterwards.
    const initdb = findBinary('initdb');
    const canStartServer = initdb !== undefined && process.getuid?.() === 0;
    (canStartServer ? it : it.skip)(
      `a wrong password: StoreAuthenticationError (28P01)${canStartServer ? '' : ' (skipped: needs initdb and root to run it as postgres)'}`,
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'es-auth-'));
        const data = join(dir, 'data');
        const port = await sparePort();
        const asPostgres = (binary: string, args: string[]) =>
          execFileSync('runuser', ['-u', 'postgres', '--', binary, ...args], {
            stdio: 'pipe',
            timeout: 60_000,
          });
        try {
          execFileSync('chown', ['postgres', dir]);
          writeFileSync(join(dir, 'pw'), 'right-password\n');
          execFileSync('chown', ['postgres', join(dir, 'pw')]);
          asPostgres(initdb!, [
            '-D',
            data,
            '-U',
            'postgres',
            '--auth=scram-sha-256',
            `--pwfile=${join(dir, 'pw')}`,
          ]);
          asPostgres(findBinary('pg_ctl')!, [
            '-D',
            data,
            '-w',
            '-l',
            join(dir, 'log'),
            '-o',
            `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c max_connections=10`,
            'start',
          ]);
          const wrong = `postgres://postgres:wrong-password@127.0.0.1:${port}/postgres`;
          const error = await failureOf(() => migrate({ connection: wrong }));
          expect(isStoreAuthenticationError(error)).toBe(true);
          expect((error as Error).message).toMatch(/28P01/);
          expect((error as Error).message).toMatch(/check the user name and password/);
          const store = new PostgresEventStore({ connection: wrong });
          try {
            expect(isStoreAuthenticationError(await failureOf(() => store.getStreamVersion('s')))).toBe(true);
          } finally {
            await store.close();
          }
          // The right password works: the failure was the credentials, nothing else.
          const right = `postgres://postgres:right-password@127.0.0.1:${port}/postgres`;
          expect((await migrate({ connection: right })).applied.length).toBeGreaterThan(0);
        } finally {
          try {
            asPostgres(findBinary('pg_ctl')!, ['-D', data, '-m', 'immediate', '-w', 'stop']);
          } catch {
            // not started
          }
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  },
);

function findBinary(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
