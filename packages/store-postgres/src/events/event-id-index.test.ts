import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { ConcurrencyConflictError, ExpectedVersion } from '@es/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { migrate } from '../schema/migrate.js';
import { readMigrationFiles } from '../schema/migration-files.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

const deposited = (amount: number) => ({ type: 'Deposited', data: { amount } });

// Migration 004: only caller-chosen event ids are indexed (and unique); ids the store makes are not.
describe('event ids: caller-chosen ids are unique, generated ids skip the index (PGlite)', () => {
  let db: PGlite;
  let executor: SqlExecutor;

  beforeAll(async () => {
    db = new PGlite();
    await db.waitReady;
    executor = createSqlExecutor(db);
  }, 120_000);

  afterAll(async () => {
    await db.close();
  });

  async function suppliedFlags(schema: string, streamId: string): Promise<boolean[]> {
    const rows = await executor.query<{ event_id_supplied: boolean }>({
      text: `SELECT event_id_supplied FROM "${schema}".events WHERE stream_id = $1 ORDER BY version`,
      values: [streamId],
    });
    return rows.map((row) => row.event_id_supplied);
  }

  it('keeps caller-chosen ids unique across streams, marks generated ids as not indexed', async () => {
    const schema = uniqueSchema();
    await migrate({ connection: db, schema });
    const store = new PostgresEventStore({ connection: db, schema, notify: false });
    const a = `a-${randomUUID()}`;
    const b = `b-${randomUUID()}`;
    const chosen = { ...deposited(1), eventId: randomUUID() };
    await store.appendEvents(a, ExpectedVersion.NoStream, [chosen]);
    await store.appendEvents(a, 1, [deposited(2), deposited(3)]);
    expect(await suppliedFlags(schema, a)).toEqual([true, false, false]);

    // The same caller-chosen id in another stream: a conflict at the exact version and with Any.
    await expect(store.appendEvents(b, ExpectedVersion.NoStream, [chosen])).rejects.toThrow(
      /already stored in another stream/,
    );
    await expect(store.appendEvents(b, ExpectedVersion.Any, [chosen])).rejects.toBeInstanceOf(
      ConcurrencyConflictError,
    );
    expect(await store.getStreamVersion(b)).toBe(0);

    const indexes = await executor.query<{ indexdef: string }>({
      text: 'SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE $2',
      values: [schema, '%(event_id)%'],
    });
    expect(indexes.map((row) => row.indexdef)).toEqual([
      expect.stringMatching(
        /UNIQUE INDEX events_supplied_event_id_key .*\(event_id\) WHERE event_id_supplied/,
      ),
    ]);
    await store.close();
    await dropSchema(executor, schema);
  });

  it('upgrading a table from 001-003 keeps every stored id unique and retries recognised', async () => {
    const schema = uniqueSchema();
    const files = readMigrationFiles();
    await migrate({ connection: db, schema, migrations: files.filter((file) => file.version <= 3) });
    // Written by the 001 function, as a store of the previous release did.
    const streamId = `old-${randomUUID()}`;
    const oldBatch = [
      { id: randomUUID(), type: 'Deposited', sv: 1, data: { amount: 1 }, meta: {} },
      { id: randomUUID(), type: 'Deposited', sv: 1, data: { amount: 2 }, meta: {} },
    ];
    await executor.query({
      text: `SELECT * FROM "${schema}".events_append($1, 0, false, $2::jsonb, false)`,
      values: [streamId, JSON.stringify(oldBatch)],
    });

    // New code on a table without 004: a typed error that points at migrate(), nothing written.
    const early = new PostgresEventStore({ connection: db, schema, notify: false });
    await expect(early.appendEvents(`early-${randomUUID()}`, 0, [deposited(1)])).rejects.toThrow(
      /run migrate\(\)/,
    );
    await early.close();

    const upgrade = await migrate({ connection: db, schema });
    expect(upgrade.applied).toEqual(files.filter((file) => file.version > 3).map((file) => file.name));
    expect(await suppliedFlags(schema, streamId)).toEqual([true, true]);

    const store = new PostgresEventStore({ connection: db, schema, notify: false });
    const retried = oldBatch.map(({ id, type, data }) => ({ eventId: id, type, data }));
    const original = await store.appendEvents(streamId, ExpectedVersion.NoStream, retried);
    expect(original.nextVersion).toBe(2);
    await expect(
      store.appendEvents(`other-${randomUUID()}`, ExpectedVersion.NoStream, [retried[0]!]),
    ).rejects.toBeInstanceOf(ConcurrencyConflictError);
    // New events after the upgrade: generated ids are not indexed.
    await store.appendEvents(streamId, 2, [deposited(3)]);
    expect(await suppliedFlags(schema, streamId)).toEqual([true, true, false]);
    await store.close();
    await dropSchema(executor, schema);
  });
});
