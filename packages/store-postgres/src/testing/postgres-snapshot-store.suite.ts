// The snapshot store's tests, run on PGlite (postgres-snapshot-store.test.ts) and on a server
// (postgres-snapshot-store.int.test.ts). Not part of the published API.
import {
  type DomainEvent,
  EventSourcedAggregate,
  EventSourcedRepository,
  isInvalidArgumentError,
  isStoreNotMigratedError,
  type Snapshot,
  type SnapshotDecision,
} from '@es/core';
import { describeSnapshotStoreContract, recordStreamReads, type StreamRead } from '@es/testing';
import { describe, expect, it } from '@jest/globals';
import type { PostgresConnection } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { PostgresEventStore } from '../events/postgres-event-store.js';
import { migrate } from '../schema/migrate.js';
import { PostgresSnapshotStore } from '../snapshots/postgres-snapshot-store.js';
import { dropSchema, recordingExecutor, uniqueSchema } from './test-support.js';

type CountEvent = DomainEvent<'Counted', { by: number }>;

class Counter extends EventSourcedAggregate<CountEvent> {
  state = { count: 0, last: 0 };
  count(by: number) {
    this.raiseEvent({ type: 'Counted', data: { by } });
  }
  protected apply(event: CountEvent) {
    this.state = { count: this.state.count + event.data.by, last: event.data.by };
  }
  createSnapshot() {
    return this.state;
  }
  restoreSnapshot(state: { count: number; last: number }) {
    this.state = state;
  }
}

const snapshotAt = (streamId: string, aggregateVersion: number, state: unknown = {}): Snapshot => ({
  streamId,
  aggregateVersion,
  snapshotVersion: 1,
  state,
  createdAt: new Date(),
});

/** Registers the contract and the PostgreSQL-specific tests; `executor` is ready when tests run. */
export function postgresSnapshotStoreSuite(
  name: string,
  executor: () => SqlExecutor,
  connection: () => PostgresConnection,
): void {
  const schemas = new WeakMap<object, string>();

  describeSnapshotStoreContract({
    name,
    timeoutMs: 60_000,
    create: async () => {
      const schema = uniqueSchema('es_snap');
      await migrate({ connection: executor(), schema });
      const store = new PostgresSnapshotStore({ connection: executor(), schema });
      schemas.set(store, schema);
      return store;
    },
    cleanup: async (store) => dropSchema(executor(), schemas.get(store)!),
  });

  describe(`${name}: PostgreSQL specifics`, () => {
    it('keeps the snapshots of each event table apart, in <table>_snapshots', async () => {
      const schema = uniqueSchema('es_snap');
      try {
        await migrate({ connection: executor(), schema, table: 'ledger' });
        await migrate({ connection: executor(), schema, table: 'audit' });
        const ledger = new PostgresSnapshotStore({ connection: executor(), schema, table: 'ledger' });
        const audit = new PostgresSnapshotStore({ connection: executor(), schema, table: 'audit' });
        expect(ledger.table).toBe(`"${schema}"."ledger_snapshots"`);
        await ledger.save(snapshotAt('acc-1', 7, 'ledger'));
        await audit.save(snapshotAt('acc-1', 3, 'audit'));
        expect((await ledger.load('acc-1'))?.state).toBe('ledger');
        expect((await audit.load('acc-1'))?.state).toBe('audit');
      } finally {
        await dropSchema(executor(), schema);
      }
    });

    it('works with names long enough to push prepared statement names past 63 bytes', async () => {
      // Regression: PostgreSQL truncates statement names, so ":save" and ":load" of one long table
      // name collided ("prepared statement ... already exists", 42P05).
      const schema = `${uniqueSchema('es_snap')}_${'x'.repeat(20)}`;
      try {
        await migrate({ connection: executor(), schema, table: 'events_with_a_long_name' });
        const store = new PostgresSnapshotStore({
          connection: executor(),
          schema,
          table: 'events_with_a_long_name',
        });
        for (let version = 1; version <= 3; version++) {
          await store.save(snapshotAt('acc-1', version, `v${version}`));
          expect((await store.load('acc-1'))?.state).toBe(`v${version}`);
        }
        await store.delete('acc-1');
        expect(await store.load('acc-1')).toBeUndefined();
      } finally {
        await dropSchema(executor(), schema);
      }
    });

    it('refuses a hostile schema or table name before any SQL', () => {
      const recorder = recordingExecutor();
      for (const names of [
        { schema: 'x"; DROP SCHEMA public; --' },
        { table: 'events; --' },
        { schema: 'pg_x' },
      ]) {
        let thrown: unknown;
        try {
          new PostgresSnapshotStore({ connection: recorder, ...names });
        } catch (error) {
          thrown = error;
        }
        expect(isInvalidArgumentError(thrown)).toBe(true);
      }
      expect(recorder.statements).toEqual([]);
    });

    it('refuses a version beyond the integer column before any SQL', async () => {
      const recorder = recordingExecutor();
      const store = new PostgresSnapshotStore({ connection: recorder });
      const error = await store.save(snapshotAt('s-1', 2 ** 31)).catch((e: unknown) => e);
      expect(isInvalidArgumentError(error)).toBe(true);
      expect(recorder.statements).toEqual([]);
    });

    it('wraps the driver error, with a hint to migrate, when the table is missing', async () => {
      const store = new PostgresSnapshotStore({ connection: executor(), schema: uniqueSchema('es_none') });
      const error = await store.load('s-1').catch((e: unknown) => e);
      expect(isStoreNotMigratedError(error)).toBe(true);
      expect((error as Error).message).toMatch(/run migrate\(\)/);
      expect((error as Error).cause).toBeDefined();
    });

    it('loads an aggregate from its snapshot and reads only the events after it', async () => {
      const schema = uniqueSchema('es_snap');
      let events: (PostgresEventStore & { readonly reads: StreamRead[] }) | undefined;
      try {
        await migrate({ connection: executor(), schema });
        events = recordStreamReads(
          new PostgresEventStore({ connection: connection(), schema, notify: false }),
        );
        const snapshots = new PostgresSnapshotStore({ connection: executor(), schema });
        const every = (n: number) => ({
          shouldSnapshot: (d: SnapshotDecision) => d.eventsSinceSnapshot >= n,
        });
        const repository = new EventSourcedRepository<Counter>({
          eventStore: events,
          factory: (id) => new Counter(id),
          snapshots: { store: snapshots, strategy: every(25) },
        });
        const counter = new Counter('c-1');
        for (let by = 1; by <= 60; by++) {
          counter.count(by);
          await repository.save(counter);
        }
        expect((await snapshots.load('c-1'))?.aggregateVersion).toBe(50);
        events.reads.length = 0;
        const loaded = await repository.getById('c-1');
        expect(events.reads).toEqual([{ fromVersion: 50, returned: 10 }]);
        expect(loaded.state).toEqual({ count: (60 * 61) / 2, last: 60 });

        // A snapshot of another shape is ignored: every event is read and the state is still right.
        const reshaped = new EventSourcedRepository<Counter>({
          eventStore: events,
          factory: (id) => new Counter(id),
          snapshots: { store: snapshots, strategy: every(1000), snapshotVersion: 2 },
        });
        events.reads.length = 0;
        const rebuilt = await reshaped.getById('c-1');
        expect(events.reads).toEqual([{ fromVersion: 0, returned: 60 }]);
        expect(rebuilt.state).toEqual(loaded.state);
        rebuilt.count(1);
        await reshaped.save(rebuilt);
        expect(await snapshots.load('c-1')).toMatchObject({ aggregateVersion: 61, snapshotVersion: 2 });
      } finally {
        await events?.close();
        await dropSchema(executor(), schema);
      }
    });
  });
}
