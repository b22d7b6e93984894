import { randomUUID } from 'node:crypto';
import {
  ExpectedVersion,
  isConcurrencyConflictError,
  isEventStoreUnavailableError,
  type StoredEvent,
} from '@es/core';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { migrate } from '../schema/migrate.js';
import { describeCoalescing } from '../testing/coalescing.suite.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

const deposited = (amount: number, eventId = randomUUID()) => ({
  type: 'Deposited',
  data: { amount },
  eventId,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithService('PostgresEventStore write coalescing on a server', 'DATABASE_URL', (url) => {
  jest.setTimeout(60_000);
  let pool: pg.Pool;
  let admin: SqlExecutor;
  const schemas: string[] = [];

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: url, max: 8 });
    admin = createSqlExecutor(url);
  });

  afterAll(async () => {
    for (const schema of schemas) await dropSchema(admin, schema);
    await admin.close();
    await pool.end();
  });

  describeCoalescing('server', () => pool);

  /** A store whose table already has this cluster's era (so a blocker never holds the era lock). */
  async function freshSchema(): Promise<string> {
    const schema = uniqueSchema('es_coal');
    schemas.push(schema);
    await migrate({ connection: admin, schema });
    await admin.query({ text: `SELECT "${schema}".events_era_offset()` });
    return schema;
  }

  /**
   * Starts a second session that stores `eventId` as a caller-chosen id without committing: an
   * append of that id then waits on the unique index, in the middle of its batch.
   */
  async function blockOn(schema: string, eventId: string, streamId = 'blocker'): Promise<pg.Client> {
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT * FROM "${schema}".events_append($1, -1, true, $2::jsonb, false)`, [
      streamId,
      JSON.stringify([{ id: eventId, type: 'Deposited', sv: 1, data: {}, meta: {} }]),
    ]);
    return blocker;
  }

  it('a connection lost mid-batch fails each append of the batch as "outcome unknown"; retries are recognised', async () => {
    const schema = await freshSchema();
    const store = new PostgresEventStore({ connection: url, schema, coalesce: true });
    const shared = randomUUID();
    const batches = [
      { streamId: 'a', events: [deposited(1), deposited(2)] },
      { streamId: 'b', events: [deposited(3), deposited(4, shared)] },
      { streamId: 'c', events: [deposited(5)] },
    ];
    const blocker = await blockOn(schema, shared);
    let errors: unknown[];
    try {
      const appending = batches.map(({ streamId, events }) =>
        store.appendEvents(streamId, ExpectedVersion.NoStream, events).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      const pid = await stuckAppend(admin, schema);
      expect(pid).toBeDefined();
      await admin.query({ text: 'SELECT pg_terminate_backend($1)', values: [pid] });
      errors = await Promise.all(appending);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    for (const error of errors) {
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect(error).toMatchObject({ outcomeUnknown: true });
      expect((error as Error).message).toMatch(/retrying with the same event ids is safe/);
    }
    const inLog: StoredEvent[] = [];
    for await (const event of store.getAllEvents()) inLog.push(event);
    expect(inLog).toEqual([]);

    // Retried with the same ids, each is written once; retried again, each is recognised.
    const first = await Promise.all(
      batches.map(({ streamId, events }) => store.appendEvents(streamId, ExpectedVersion.NoStream, events)),
    );
    const again = await Promise.all(
      batches.map(({ streamId, events }) => store.appendEvents(streamId, ExpectedVersion.NoStream, events)),
    );
    expect(again).toEqual(first);
    expect(first.map((r) => r.nextVersion)).toEqual([2, 2, 1]);
    await store.close();
  });

  it('a connection lost mid fast-path batch fails each append as "outcome unknown"; nothing is written', async () => {
    const schema = await freshSchema();
    const store = new PostgresEventStore({ connection: url, schema, coalesce: true });
    // A blocker appends to `b` without committing: the batch (single events at exact versions, the
    // fast-path INSERT) waits for it, on the stream lock or the unique index.
    const blocker = await blockOn(schema, randomUUID(), 'b');
    let errors: unknown[];
    try {
      const appending = ['a', 'b', 'c'].map((streamId) =>
        // No caller-chosen ids: the fast path.
        store.appendEvents(streamId, ExpectedVersion.NoStream, [{ type: 'Deposited', data: {} }]).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      // (pg_stat_activity keeps the first 1 kB of the statement: its start names it.)
      const pid = await stuckAppend(admin, schema, `INSERT INTO "${schema}"."events" %`);
      expect(pid).toBeDefined();
      await admin.query({ text: 'SELECT pg_terminate_backend($1)', values: [pid] });
      errors = await Promise.all(appending);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    for (const error of errors) {
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect(error).toMatchObject({ outcomeUnknown: true });
    }
    const inLog: StoredEvent[] = [];
    for await (const event of store.getAllEvents()) inLog.push(event);
    expect(inLog).toEqual([]);
    await store.close();
  });

  it('a batch the server refuses as a whole (a unique index fired) is run again append by append: only the guilty one fails', async () => {
    const schema = await freshSchema();
    const store = new PostgresEventStore({ connection: url, schema, coalesce: true });
    const shared = randomUUID();
    const blocker = await blockOn(schema, shared);
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      const appending = Promise.allSettled([
        store.appendEvents('a', ExpectedVersion.NoStream, [deposited(1)]),
        store.appendEvents('b', ExpectedVersion.NoStream, [deposited(2), deposited(3, shared)]),
        store.appendEvents('a', 1, [deposited(4)]),
      ]);
      expect(await stuckAppend(admin, schema)).toBeDefined();
      // The blocker commits: the batch's insert of the same id now fails (unique violation).
      await blocker.query('COMMIT');
      outcomes = await appending;
    } finally {
      await blocker.end();
    }
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (outcomes[1] as PromiseRejectedResult).reason;
    expect(isConcurrencyConflictError(error)).toBe(true);
    expect(String(error.message)).toMatch(/another stream/);
    expect(await store.getStreamVersion('a')).toBe(2);
    expect(await store.getStreamVersion('b')).toBe(0);
    await store.close();
  });
});

/**
 * The backend of an append to `schema` that waits on a lock (a row's transaction, or an advisory
 * lock), its query text matching `pattern` (by default, the coalesced append function), polled
 * for up to 5 s.
 */
async function stuckAppend(
  admin: SqlExecutor,
  schema: string,
  pattern = `%"${schema}"."events_append_coalesced"%`,
): Promise<number | undefined> {
  for (let i = 0; i < 500; i++) {
    const rows = await admin.query<{ pid: number }>({
      text: `SELECT pid FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'advisory') AND query LIKE $1`,
      values: [pattern],
    });
    if (rows[0]) return rows[0].pid;
    await sleep(10);
  }
  return undefined;
}
