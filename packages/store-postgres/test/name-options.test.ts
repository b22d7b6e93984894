import { PGlite } from '@electric-sql/pglite';
import { isInvalidArgumentError } from '@es/core';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PostgresEventStore } from '../src/events/postgres-event-store.js';
import { PostgresCheckpointStore } from '../src/projections/postgres-checkpoint-store.js';
import { PostgresProjectionLock } from '../src/projections/postgres-projection-lock.js';
import { PostgresProjectionStore } from '../src/projections/postgres-projection-store.js';
import { migrate } from '../src/schema/migrate.js';
import { PostgresSnapshotStore } from '../src/snapshots/postgres-snapshot-store.js';

// A name option left out takes its default; any other value, null included, is checked as given.
// Before, `table: null` silently became "events" (and `schema: null` "public").

const db = new PGlite();
afterAll(() => db.close());

function refusal(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

const constructors: ReadonlyArray<[string, (names: Record<string, unknown>) => unknown]> = [
  ['PostgresEventStore', (names) => new PostgresEventStore({ connection: db, ...names })],
  ['PostgresSnapshotStore', (names) => new PostgresSnapshotStore({ connection: db, ...names } as never)],
  ['PostgresCheckpointStore', (names) => new PostgresCheckpointStore({ connection: db, ...names })],
  ['PostgresProjectionStore', (names) => new PostgresProjectionStore({ connection: db, ...names })],
];

describe('schema and table options', () => {
  it.each(constructors)('%s refuses schema: null and schema: "" instead of using "public"', (_, make) => {
    for (const schema of [null, '']) {
      const error = refusal(() => make({ schema }));
      expect(isInvalidArgumentError(error)).toBe(true);
      expect((error as Error).message).toMatch(/schema/);
    }
  });

  it.each(constructors.slice(0, 3))('%s refuses table: null instead of using "events"', (_, make) => {
    const error = refusal(() => make({ table: null }));
    expect(isInvalidArgumentError(error)).toBe(true);
    expect((error as Error).message).toMatch(/Invalid table: expected a string, got null/);
  });

  it.each(constructors)('%s refuses a schema name with upper case', (_, make) => {
    expect((refusal(() => make({ schema: 'Billing' })) as Error).message).toMatch(/use "billing"/);
  });

  it('migrate refuses null names before touching the database', async () => {
    await expect(migrate({ connection: db, table: null as never })).rejects.toThrow(/Invalid table/);
    await expect(migrate({ connection: db, schema: null as never })).rejects.toThrow(/Invalid schema/);
  });

  it('PostgresEventStore refuses notify: null instead of notifying', () => {
    expect(
      isInvalidArgumentError(
        refusal(() => new PostgresEventStore({ connection: db, notify: null as never })),
      ),
    ).toBe(true);
  });

  it('left out, the names default to public.events', () => {
    expect(new PostgresEventStore({ connection: db }).names.qualifiedTable).toBe('"public"."events"');
    expect(new PostgresEventStore({ connection: db, schema: undefined }).names.schema).toBe('public');
  });

  it('PostgresProjectionLock refuses namespace: null and heartbeatMs: null before opening a pool', () => {
    const url = 'postgres://nobody@127.0.0.1:9/none';
    for (const options of [{ namespace: null }, { namespace: ' ' }, { heartbeatMs: null }]) {
      expect(
        isInvalidArgumentError(
          refusal(() => new PostgresProjectionLock({ connection: url, ...(options as object) })),
        ),
      ).toBe(true);
    }
  });
});
