import { randomUUID } from 'node:crypto';
import {
  type EventStoreUnavailableError,
  ExpectedVersion,
  type ExpectedVersionMarker,
  isConcurrencyConflictError,
  isEventStoreUnavailableError,
  retryOnConcurrencyConflict,
  type StoredEvent,
} from '@es/core';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from '../testing/test-support.js';
import { PostgresEventStore } from './postgres-event-store.js';

const deposited = (amount: number) => ({ type: 'Deposited', data: { amount } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The reliability drills, against a real server: many connections, real parallelism. They
// run twice: one transaction per append, and with write coalescing on (issue 16).
describe.each([
  ['one transaction per append', false],
  ['coalescing on', true],
])('%s', (_mode, coalesce) => {
  describeWithService('PostgresEventStore reliability on a server', 'DATABASE_URL', (url) => {
    jest.setTimeout(120_000);
    let admin: SqlExecutor;
    const schemas: string[] = [];

    async function freshStore(poolSize: number): Promise<{ store: PostgresEventStore; pool: pg.Pool }> {
      const schema = uniqueSchema('es_rel');
      schemas.push(schema);
      await migrate({ connection: admin, schema });
      const pool = new pg.Pool({ connectionString: url, max: poolSize });
      pool.on('error', () => undefined);
      return { store: new PostgresEventStore({ connection: pool, schema, coalesce }), pool };
    }

    beforeAll(() => {
      admin = createSqlExecutor(url);
    });

    afterAll(async () => {
      for (const schema of schemas) await dropSchema(admin, schema);
      await admin.close();
    });

    it('16 writers with retry on one stream: versions 1..N, no gap, no duplicate, every acknowledged event', async () => {
      const { store, pool } = await freshStore(16);
      const streamId = `hot-${randomUUID()}`;
      const appendsPerWriter = 25;
      const acknowledged: string[] = [];
      let conflicts = 0;
      const writer = async () => {
        for (let i = 0; i < appendsPerWriter; i++) {
          const eventId = randomUUID();
          await retryOnConcurrencyConflict(
            async () => {
              const version = await store.getStreamVersion(streamId);
              await store.appendEvents(streamId, version, [{ ...deposited(i), eventId }]);
            },
            { maxRetries: 1_000, backoff: { initialDelayMs: 1, maxDelayMs: 10 }, onRetry: () => conflicts++ },
          );
          acknowledged.push(eventId);
        }
      };
      await Promise.all(Array.from({ length: 16 }, writer));
      const events = await store.getEvents(streamId);
      const total = 16 * appendsPerWriter;
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(new Set(events.map((e) => e.eventId)).size).toBe(total);
      expect(new Set(events.map((e) => e.eventId))).toEqual(new Set(acknowledged));
      expect(conflicts).toBeGreaterThan(0);
      await pool.end();
    });

    it('exact-version writers (no lock) and Any/StreamExists writers (locked function) on one stream: no gap, no loss', async () => {
      // Exact versions take a single INSERT without the per-stream lock; Any and StreamExists take
      // the append function under the lock. Both must agree through the unique (stream_id, version)
      // index, and Any must not fail just because an unlocked writer won a race.
      const { store, pool } = await freshStore(16);
      const streamId = `mixed-${randomUUID()}`;
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [deposited(0)]);
      const acknowledged: string[] = [];
      const pairs: string[][] = [];
      const exactWriter = async () => {
        for (let i = 0; i < 20; i++) {
          const batch = [
            { ...deposited(i), eventId: randomUUID() },
            { ...deposited(i), eventId: randomUUID() },
          ];
          await retryOnConcurrencyConflict(
            async () => store.appendEvents(streamId, await store.getStreamVersion(streamId), batch),
            { maxRetries: 1_000, backoff: { initialDelayMs: 1, maxDelayMs: 10 } },
          );
          acknowledged.push(...batch.map((event) => event.eventId));
          pairs.push(batch.map((event) => event.eventId));
        }
      };
      const lockedWriter = (mode: ExpectedVersionMarker) => async () => {
        for (let i = 0; i < 20; i++) {
          const eventId = randomUUID();
          await store.appendEvents(streamId, mode, [{ ...deposited(i), eventId }]);
          acknowledged.push(eventId);
        }
      };
      await Promise.all([
        ...Array.from({ length: 8 }, exactWriter),
        ...Array.from({ length: 4 }, lockedWriter(ExpectedVersion.Any)),
        ...Array.from({ length: 4 }, lockedWriter(ExpectedVersion.StreamExists)),
      ]);
      const events = await store.getEvents(streamId);
      const total = 1 + acknowledged.length;
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(new Set(events.slice(1).map((e) => e.eventId))).toEqual(new Set(acknowledged));
      // Each two-event batch sits whole at consecutive versions.
      const versionOf = new Map(events.map((e) => [e.eventId, e.version]));
      expect(pairs).toHaveLength(8 * 20);
      for (const [first, second] of pairs) {
        expect(versionOf.get(second!)).toBe(versionOf.get(first!)! + 1);
      }
      await pool.end();
    });

    it('8 writers on 500 streams while a follower tails the log: every event once, strictly increasing', async () => {
      const { store, pool } = await freshStore(10);
      const streams = Array.from({ length: 500 }, (_, i) => `s${i}-${randomUUID()}`);
      const appendsPerWriter = 300;
      const written = new Set<string>();
      let writing = true;
      let lastAcknowledged = 0n;
      const writer = async (w: number) => {
        for (let i = 0; i < appendsPerWriter; i++) {
          const streamId = streams[(w * 7919 + i * 104_729) % streams.length]!;
          const batch = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
            ...deposited(k),
            eventId: randomUUID(),
          }));
          const { lastPosition } = await retryOnConcurrencyConflict(
            async () => store.appendEvents(streamId, await store.getStreamVersion(streamId), batch),
            { maxRetries: 1_000, backoff: { initialDelayMs: 1, maxDelayMs: 10 } },
          );
          if (lastPosition > lastAcknowledged) lastAcknowledged = lastPosition;
          for (const event of batch) written.add(event.eventId);
        }
      };
      const seen: StoredEvent[] = [];
      // The follower stops once it has passed the last acknowledged append. It cannot stop at the
      // first empty read after the writers finish: events stay invisible while any older
      // transaction of the cluster (another test's, say) is still running (see the README).
      const follow = async () => {
        let checkpoint = 0n;
        const deadline = Date.now() + 60_000;
        while (writing || checkpoint < lastAcknowledged) {
          for await (const event of store.getAllEvents(checkpoint, { batchSize: 50 })) {
            seen.push(event);
            checkpoint = event.position;
          }
          if (Date.now() > deadline) throw new Error(`follower stuck at ${checkpoint} < ${lastAcknowledged}`);
          await sleep(1);
        }
      };
      const following = follow();
      await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
      writing = false;
      await following;
      expect(seen.length).toBe(written.size);
      expect(new Set(seen.map((e) => e.eventId))).toEqual(written);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.position > seen[i - 1]!.position).toBe(true);
      // Per stream, the log shows versions in order without gaps.
      const versions = new Map<string, number>();
      for (const event of seen) {
        expect(event.version).toBe((versions.get(event.streamId) ?? 0) + 1);
        versions.set(event.streamId, event.version);
      }
      await pool.end();
    });

    describe('a backend terminated in the middle of an append', () => {
      it('leaves no partial batch, fails with a typed error, and the store keeps working', async () => {
        const schema = uniqueSchema('es_rel');
        schemas.push(schema);
        await migrate({ connection: admin, schema });
        // The era of this cluster, opened now: otherwise the blocker below, as the table's first
        // append, would open it and hold its lock (migration 005), and the append would wait there.
        await admin.query({ text: `SELECT "${schema}".events_era_offset()` });
        const store = new PostgresEventStore({ connection: url, schema, coalesce });
        const streamId = `killed-${randomUUID()}`;
        const batch = Array.from({ length: 1_000 }, (_, i) => ({ ...deposited(i), eventId: randomUUID() }));

        // A second session inserts, without committing, the id of the batch's 500th event as a
        // caller-chosen id (indexed, unique). The append then writes 499 rows and waits on that row's
        // unique-index entry: it is stuck mid-batch.
        const blocker = new pg.Client({ connectionString: url });
        await blocker.connect();
        let error: unknown;
        try {
          await blocker.query('BEGIN');
          await blocker.query(`SELECT * FROM "${schema}".events_append($1, -1, true, $2::jsonb, false)`, [
            `blocker-${randomUUID()}`,
            JSON.stringify([{ id: batch[499]!.eventId, type: 'Deposited', sv: 1, data: {}, meta: {} }]),
          ]);
          const appending = store.appendEvents(streamId, ExpectedVersion.NoStream, batch).then(
            () => undefined,
            (e: unknown) => e,
          );
          // Polled from another session: pg_stat_activity is frozen within a transaction.
          const pid = await stuckAppend(admin, schema);
          expect(pid).toBeDefined();
          await admin.query({ text: 'SELECT pg_terminate_backend($1)', values: [pid] });
          error = await appending;
        } finally {
          await blocker.query('ROLLBACK');
          await blocker.end();
        }

        expect(isEventStoreUnavailableError(error)).toBe(true);
        expect(isConcurrencyConflictError(error)).toBe(false);
        expect((error as Error).message).toMatch(/retrying with the same event ids is safe/);
        expect((error as EventStoreUnavailableError).outcomeUnknown).toBe(true);
        expect(await store.getStreamVersion(streamId)).toBe(0);
        const inLog: StoredEvent[] = [];
        for await (const event of store.getAllEvents()) inLog.push(event);
        expect(inLog).toEqual([]);

        // The same batch, retried on the next call, is written whole.
        const result = await store.appendEvents(streamId, ExpectedVersion.NoStream, batch);
        expect(result.nextVersion).toBe(1_000);
        const events = await store.getEvents(streamId);
        expect(events.map((e) => e.eventId)).toEqual(batch.map((e) => e.eventId));
        await store.close();
      });
    });
  });
});

/** The backend of an append to `schema` that waits on a row lock, polled for up to 5 s. */
async function stuckAppend(admin: SqlExecutor, schema: string): Promise<number | undefined> {
  for (let i = 0; i < 500; i++) {
    const rows = await admin.query<{ pid: number }>({
      text: `SELECT pid FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid' AND query LIKE $1`,
      values: [`%"${schema}"."events%`],
    });
    if (rows[0]) return rows[0].pid;
    await sleep(10);
  }
  return undefined;
}
