// Write coalescing (issue 16): what a batch of concurrent appends must keep, on a server and on
// PGlite. Appends started in the same tick are queued before the coalescer sends anything, so they
// share one batch: the tests check that (their positions share one transaction id) rather than time.
import { randomUUID } from 'node:crypto';
import {
  ExpectedVersion,
  InvalidArgumentError,
  isConcurrencyConflictError,
  StoreClosedError,
} from '@es/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PostgresConnection } from '../connection/connection.js';
import { createSqlExecutor } from '../connection/connection.js';
import type { SqlExecutor } from '../connection/sql-executor.js';
import { POSITION_INDEX_BITS } from '../events/position.js';
import { PostgresEventStore } from '../events/postgres-event-store.js';
import { migrate } from '../schema/migrate.js';
import { dropSchema, uniqueSchema } from './test-support.js';

const deposited = (amount: number, eventId?: string) => ({
  type: 'Deposited',
  data: { amount },
  ...(eventId ? { eventId } : {}),
});
const transactionOf = (position: bigint) => position >> BigInt(POSITION_INDEX_BITS);

/** The coalescing tests on `connection()` (a pool or a PGlite instance). */
export function describeCoalescing(name: string, connection: () => PostgresConnection): void {
  describe(`write coalescing: ${name}`, () => {
    let admin: SqlExecutor;
    const schemas: string[] = [];

    async function freshStore(coalesce: unknown = true): Promise<PostgresEventStore> {
      const schema = uniqueSchema('es_coal');
      schemas.push(schema);
      await migrate({ connection: admin, schema });
      return new PostgresEventStore({ connection: connection(), schema, coalesce: coalesce as boolean });
    }

    beforeAll(() => {
      admin = createSqlExecutor(connection());
    });

    afterAll(async () => {
      for (const schema of schemas) await dropSchema(admin, schema);
      await admin.close();
    });

    it('appends to one stream in one batch are applied in call order, in one transaction', async () => {
      const store = await freshStore();
      const [first, second, third] = await Promise.all([
        store.appendEvents('order', ExpectedVersion.NoStream, [deposited(1)]),
        store.appendEvents('order', 1, [deposited(2), deposited(3)]),
        store.appendEvents('other', ExpectedVersion.NoStream, [deposited(4)]),
      ]);
      expect([first!.nextVersion, second!.nextVersion, third!.nextVersion]).toEqual([1, 3, 1]);
      // One transaction: the same transaction id, positions in call order.
      expect(transactionOf(second!.lastPosition)).toBe(transactionOf(first!.lastPosition));
      expect(transactionOf(third!.lastPosition)).toBe(transactionOf(first!.lastPosition));
      expect(first!.lastPosition < second!.lastPosition && second!.lastPosition < third!.lastPosition).toBe(
        true,
      );
      const events = await store.getEvents('order');
      expect(events.map((e) => [e.version, (e.data as { amount: number }).amount])).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
      ]);
      expect(events[2]!.position).toBe(second!.lastPosition);
      await store.close();
    });

    it('a conflict fails only its own append, with the actual version; its neighbours are written', async () => {
      const store = await freshStore();
      await store.appendEvents('a', ExpectedVersion.NoStream, [deposited(0), deposited(0)]);
      const outcomes = await Promise.allSettled([
        store.appendEvents('b', ExpectedVersion.NoStream, [deposited(1)]),
        store.appendEvents('a', 1, [deposited(2)]),
        store.appendEvents('a', ExpectedVersion.NoStream, [deposited(3)]),
        store.appendEvents('a', 2, [deposited(4)]),
        store.appendEvents('c', ExpectedVersion.StreamExists, [deposited(5)]),
        store.appendEvents('d', ExpectedVersion.Any, [deposited(6)]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'rejected',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      const errors = outcomes.map((o) => (o.status === 'rejected' ? o.reason : undefined));
      expect(isConcurrencyConflictError(errors[1])).toBe(true);
      expect(errors[1]).toMatchObject({ streamId: 'a', actualVersion: 2 });
      expect(errors[2]).toMatchObject({ streamId: 'a', actualVersion: 2 });
      expect(errors[4]).toMatchObject({ streamId: 'c', actualVersion: 0 });
      expect((await store.getEvents('a')).map((e) => (e.data as { amount: number }).amount)).toEqual([
        0, 0, 4,
      ]);
      expect(await store.getStreamVersion('b')).toBe(1);
      expect(await store.getStreamVersion('c')).toBe(0);
      expect(await store.getStreamVersion('d')).toBe(1);
      await store.close();
    });

    it('a fast-path append the unique index or the version probe refuses fails alone, with the exact actual version', async () => {
      const store = await freshStore();
      await store.appendEvents('ahead', ExpectedVersion.NoStream, [deposited(0), deposited(0)]);
      await store.appendEvents('behind', ExpectedVersion.NoStream, [deposited(0)]);
      // Single events at exact versions on streams alone in the batch: migration 009's fast path.
      const outcomes = await Promise.allSettled([
        store.appendEvents('fresh', ExpectedVersion.NoStream, [deposited(1)]),
        store.appendEvents('ahead', 1, [deposited(2)]), // version 2 exists: the unique index
        store.appendEvents('behind', 3, [deposited(3)]), // version 3 is missing: the probe
        store.appendEvents('absent', 4, [deposited(4)]),
        store.appendEvents('ahead-too', ExpectedVersion.NoStream, [deposited(5)]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'rejected',
        'rejected',
        'rejected',
        'fulfilled',
      ]);
      const errors = outcomes.map((o) => (o.status === 'rejected' ? o.reason : undefined));
      for (const error of errors.slice(1, 4)) expect(isConcurrencyConflictError(error)).toBe(true);
      expect(errors[1]).toMatchObject({ streamId: 'ahead', expectedVersion: 1, actualVersion: 2 });
      expect(errors[2]).toMatchObject({ streamId: 'behind', expectedVersion: 3, actualVersion: 1 });
      expect(errors[3]).toMatchObject({ streamId: 'absent', expectedVersion: 4, actualVersion: 0 });
      const [fresh, , , , aheadToo] = outcomes as PromiseFulfilledResult<{ lastPosition: bigint }>[];
      expect(transactionOf(aheadToo!.value.lastPosition)).toBe(transactionOf(fresh!.value.lastPosition));
      expect(await store.getStreamVersion('ahead')).toBe(2);
      expect(await store.getStreamVersion('behind')).toBe(1);
      expect(await store.getStreamVersion('absent')).toBe(0);
      await store.close();
    });

    it('call order per stream holds across batches and paths: fast path, its fallback, then the locked path', async () => {
      const store = await freshStore({ maxInFlight: 1 });
      await store.appendEvents('s', ExpectedVersion.NoStream, [deposited(0)]);
      // A batch holds at most 256 appends: the first 256 (all fast-path) form batch 1.
      const first = [
        store.appendEvents('s', 5, [deposited(-1)]), // refused in batch 1, then run alone: a conflict
        store.appendEvents('f', ExpectedVersion.NoStream, [deposited(1)]),
        ...Array.from({ length: 254 }, (_, i) =>
          store.appendEvents(`other-${i}`, ExpectedVersion.NoStream, [deposited(i)]),
        ),
      ];
      // Batch 2 (its streams are in batch 1): the locked path for the two-event append.
      const second = [
        store.appendEvents('s', 1, [deposited(2), deposited(3)]),
        store.appendEvents('f', 1, [deposited(4)]),
        store.appendEvents('s', 3, [deposited(5)]),
      ];
      const [refused, ...written] = await Promise.allSettled(first);
      expect(refused!.status).toBe('rejected');
      // Answered before batch 2 wrote to `s`: the version it saw is batch 1's.
      expect((refused as PromiseRejectedResult).reason).toMatchObject({ streamId: 's', actualVersion: 1 });
      expect(written.every((o) => o.status === 'fulfilled')).toBe(true);
      const [s1, f1, s2] = await Promise.all(second);
      expect([s1!.nextVersion, f1!.nextVersion, s2!.nextVersion]).toEqual([3, 2, 4]);
      const firstWritten = (written[0] as PromiseFulfilledResult<{ lastPosition: bigint }>).value;
      expect(transactionOf(s1!.lastPosition)).toBeGreaterThan(transactionOf(firstWritten.lastPosition));
      expect(transactionOf(f1!.lastPosition)).toBe(transactionOf(s1!.lastPosition));
      const amounts = async (stream: string) =>
        (await store.getEvents(stream)).map((e) => (e.data as { amount: number }).amount);
      expect(await amounts('s')).toEqual([0, 2, 3, 5]);
      expect(await amounts('f')).toEqual([1, 4]);
      await store.close();
    });

    it('stores each event exactly as given on both paths: tags, metadata, schema versions', async () => {
      const store = await freshStore();
      const event = (amount: number, tags: string[]) => ({
        type: 'Tagged',
        data: { amount, text: 'quote " backslash \\ brace { comma ,' },
        metadata: { correlationId: `c-${amount}` },
        tags,
      });
      // Opens the log's era: until then the fast INSERT writes nothing (as the single one).
      await store.appendEvents('seed', ExpectedVersion.NoStream, [deposited(0)]);
      // All fast: the single INSERT. Mixed (a three-event append): the function.
      const fast = await Promise.all([
        store.appendEvents('fast-1', ExpectedVersion.NoStream, [event(1, ['a', 'b'])]),
        store.appendEvents('fast-2', ExpectedVersion.NoStream, [event(2, [])]),
        store.appendEvents('fast-3', ExpectedVersion.NoStream, [event(3, ['c', 'd', 'e'])]),
      ]);
      const mixed = await Promise.all([
        store.appendEvents('mixed-1', ExpectedVersion.NoStream, [event(4, ['f'])]),
        store.appendEvents('mixed-2', ExpectedVersion.NoStream, [
          event(5, []),
          event(6, ['g', 'h']),
          event(7, ['i']),
        ]),
        store.appendEvents('mixed-3', ExpectedVersion.NoStream, [event(8, [])]),
      ]);
      expect(transactionOf(fast[2]!.lastPosition)).toBe(transactionOf(fast[0]!.lastPosition));
      expect(transactionOf(mixed[2]!.lastPosition)).toBe(transactionOf(mixed[0]!.lastPosition));
      const stored = [];
      for (const stream of ['fast-1', 'fast-2', 'fast-3', 'mixed-1', 'mixed-2', 'mixed-3']) {
        stored.push(...(await store.getEvents(stream)));
      }
      expect(stored.map((e) => [e.streamId, e.version, e.tags, e.metadata, e.data])).toEqual(
        [
          ['fast-1', 1, ['a', 'b'], 1],
          ['fast-2', 1, [], 2],
          ['fast-3', 1, ['c', 'd', 'e'], 3],
          ['mixed-1', 1, ['f'], 4],
          ['mixed-2', 1, [], 5],
          ['mixed-2', 2, ['g', 'h'], 6],
          ['mixed-2', 3, ['i'], 7],
          ['mixed-3', 1, [], 8],
        ].map(([stream, version, tags, amount]) => [
          stream,
          version,
          tags,
          expect.objectContaining({ correlationId: `c-${amount}` }),
          { amount, text: 'quote " backslash \\ brace { comma ,' },
        ]),
      );
      await store.close();
    });

    it('a fast-path batch after the database moved to another cluster writes through the append function, which opens an era', async () => {
      const store = await freshStore();
      const before = await store.appendEvents('moved', ExpectedVersion.NoStream, [deposited(0)]);
      // As if the database had been copied to another cluster: the current era is not this one's.
      await admin.query({
        text: `UPDATE "${store.names.schema}".events_eras SET system_id = 'another cluster'
               WHERE era = (SELECT max(era) FROM "${store.names.schema}".events_eras)`,
      });
      const results = await Promise.all([
        store.appendEvents('moved', 1, [deposited(1)]),
        store.appendEvents('moved-too', ExpectedVersion.NoStream, [deposited(2)]),
      ]);
      expect(results.map((r) => r.nextVersion)).toEqual([2, 1]);
      for (const result of results) expect(result.lastPosition).toBeGreaterThan(before.lastPosition);
      const eras = await admin.query<{ system_id: string }>({
        text: `SELECT system_id FROM "${store.names.schema}".events_eras ORDER BY era DESC LIMIT 1`,
      });
      expect(eras[0]!.system_id).not.toBe('another cluster');
      await store.close();
    });

    it('a retry recognised by its event ids in a batch gets the original result; a reused id elsewhere is a conflict of that append only', async () => {
      const store = await freshStore();
      const ids = [randomUUID(), randomUUID()];
      const batch = [deposited(1, ids[0]), deposited(2, ids[1])];
      const original = await store.appendEvents('paid', ExpectedVersion.NoStream, batch);
      const [retried, reused, neighbour] = await Promise.allSettled([
        store.appendEvents('paid', ExpectedVersion.NoStream, batch),
        store.appendEvents('elsewhere', ExpectedVersion.NoStream, [deposited(3, ids[0])]),
        store.appendEvents('neighbour', ExpectedVersion.NoStream, [deposited(4)]),
      ]);
      expect(retried).toEqual({ status: 'fulfilled', value: original });
      expect(reused!.status).toBe('rejected');
      expect(isConcurrencyConflictError((reused as PromiseRejectedResult).reason)).toBe(true);
      expect(String((reused as PromiseRejectedResult).reason.message)).toMatch(/another stream/);
      expect(neighbour!.status).toBe('fulfilled');
      expect(await store.getStreamVersion('paid')).toBe(2);
      expect(await store.getStreamVersion('elsewhere')).toBe(0);
      await store.close();
    });

    it('the same batch sent twice at once is stored once and both calls get its result', async () => {
      const store = await freshStore();
      const batch = [deposited(1, randomUUID()), deposited(2, randomUUID())];
      const [first, second] = await Promise.all([
        store.appendEvents('twice', ExpectedVersion.NoStream, batch),
        store.appendEvents('twice', ExpectedVersion.NoStream, batch),
      ]);
      expect(second).toEqual(first);
      expect(await store.getStreamVersion('twice')).toBe(2);
      await store.close();
    });

    it('close() lets queued appends finish, then refuses new ones', async () => {
      const store = await freshStore();
      const appending = Array.from({ length: 20 }, (_, i) =>
        store.appendEvents(`s${i}`, ExpectedVersion.NoStream, [deposited(i)]),
      );
      const closing = store.close();
      const results = await Promise.all(appending);
      await closing;
      expect(results.map((r) => r.nextVersion)).toEqual(Array.from({ length: 20 }, () => 1));
      await expect(
        store.appendEvents('late', ExpectedVersion.NoStream, [deposited(0)]),
      ).rejects.toBeInstanceOf(StoreClosedError);
    });

    it('refuses a coalesce option it does not know, naming it', () => {
      const build = (coalesce: unknown) => () =>
        new PostgresEventStore({ connection: connection(), coalesce: coalesce as boolean });
      for (const bad of [
        'yes',
        1,
        null,
        [],
        { maxWaitMs: -1 },
        { maxBatchEvents: 0 },
        { maxBatchEvents: 65_536 },
        { maxInFlight: 1.5 },
        { batch: 3 },
      ]) {
        expect(build(bad)).toThrow(InvalidArgumentError);
      }
      expect(build({ maxBatchEvents: 0 })).toThrow(/coalesce\.maxBatchEvents/);
      expect(build({ batch: 3 })).toThrow(/coalesce\.batch/);
    });

    it('large appends (which go alone) keep call order with the other appends of their stream', async () => {
      const store = await freshStore();
      const many = (from: number) => Array.from({ length: 100 }, (_, i) => deposited(from + i));
      const results = await Promise.all([
        store.appendEvents('big', ExpectedVersion.NoStream, [deposited(0)]),
        store.appendEvents('big', 1, many(1)),
        store.appendEvents('alone', ExpectedVersion.NoStream, many(0)),
        store.appendEvents('big', 101, [deposited(101)]),
      ]);
      expect(results.map((r) => r.nextVersion)).toEqual([1, 101, 100, 102]);
      expect((await store.getEvents('big')).map((e) => (e.data as { amount: number }).amount)).toEqual(
        Array.from({ length: 102 }, (_, i) => i),
      );
      await store.close();
    });

    it('with a small maxBatchEvents, large and small appends still all land, in call order per stream', async () => {
      const store = await freshStore({ maxBatchEvents: 3, maxInFlight: 1 });
      const results = await Promise.all([
        store.appendEvents('x', ExpectedVersion.NoStream, [deposited(1)]),
        store.appendEvents('x', 1, [deposited(2), deposited(3), deposited(4), deposited(5)]),
        store.appendEvents('y', ExpectedVersion.NoStream, [deposited(6), deposited(7)]),
        store.appendEvents('x', 5, [deposited(8)]),
      ]);
      expect(results.map((r) => r.nextVersion)).toEqual([1, 5, 2, 6]);
      expect((await store.getEvents('x')).map((e) => (e.data as { amount: number }).amount)).toEqual([
        1, 2, 3, 4, 5, 8,
      ]);
      await store.close();
    });
  });
}
