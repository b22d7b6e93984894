import { randomUUID } from 'node:crypto';
import {
  ExpectedVersion,
  isConcurrencyConflictError,
  isEventSerializationError,
  isEventStoreUnavailableError,
  isInvalidArgumentError,
} from '@es/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type Document, Int32, Long } from 'mongodb';
import { MongoEventStore, type MongoEventStoreOptions } from '../src/events/mongo-event-store.js';
import { migrate } from '../src/schema/migrate.js';
import {
  FAKE_LAST_WRITE,
  type FakeMongoServer,
  type FakeServerOptions,
  isChangeStreamOpen,
  serverReplies,
  startFakeMongoServer,
} from './fake-mongo-server.js';

// Issue 17: what a real cluster does that the plain fake did not show. Each test scripts the
// server's real reply (codes and labels) for one situation; see fake-mongo-server.ts `serverReplies`.

const AT = new Date('2026-03-04T05:06:07.089Z');
const counterReply = (last: number): Document => ({
  ok: 1,
  value: { _id: 'position', value: Long.fromNumber(last), at: AT },
  lastErrorObject: { n: 1, updatedExisting: true },
});
const headReply = (version: number): Document => ({
  ok: 1,
  cursor: {
    id: Long.fromNumber(0),
    ns: 'es.events',
    firstBatch: version === 0 ? [] : [{ _id: Long.fromNumber(9), version: new Int32(version) }],
  },
});
const isHeadRead = ({ name, body }: { name: string; body: Document }) =>
  name === 'find' &&
  body.find === 'events' &&
  body.projection?.version !== undefined &&
  !body.filter?.eventId;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('issue 17 on the wire (scripted server replies, not MongoDB)', () => {
  let fake: FakeMongoServer | undefined;
  let store: MongoEventStore | undefined;
  afterEach(async () => {
    await store?.close();
    await fake?.close();
    store = undefined;
    fake = undefined;
  });
  const open = async (
    options: Partial<MongoEventStoreOptions> = {},
    server: FakeServerOptions = { replicaSet: true },
  ) => {
    fake = await startFakeMongoServer(server);
    store = new MongoEventStore({ connection: fake.uri, ...options });
    return { fake, store };
  };
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  describe('1. sharded clusters', () => {
    it('reads the log with snapshot read concern through a mongos', async () => {
      const { fake, store } = await open({}, { replicaSet: true, mongos: true });
      await store.getAllEvents(0n)[Symbol.asyncIterator]().next();
      await store.getEventsByType('A');
      const finds = fake.operations().filter((op) => op.name === 'find');
      expect(finds).toHaveLength(2);
      for (const find of finds) expect(find.body.readConcern).toEqual({ level: 'snapshot' });
    });

    it('refuses a log read concern that can skip events on a sharded cluster, before any read', async () => {
      const { fake, store } = await open({ logReadConcern: 'majority' }, { replicaSet: true, mongos: true });
      const error = await failure(store.getAllEvents(0n)[Symbol.asyncIterator]().next());
      expect(isInvalidArgumentError(error)).toBe(true);
      expect((error as Error).message).toMatch(/sharded/);
      expect(fake.operations().filter((op) => op.name === 'find')).toEqual([]);
    });

    it('refuses a sharded cluster older than MongoDB 5.0 (no snapshot reads outside transactions)', async () => {
      const { store } = await open({}, { replicaSet: true, mongos: true, maxWireVersion: 12 });
      const error = await failure(store.getEventsByType('A'));
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect((error as Error).message).toMatch(/5\.0/);
    });

    it('keeps majority reads on a replica set', async () => {
      const { fake, store } = await open();
      await store.getEventsByType('A');
      expect(fake.operations().find((op) => op.name === 'find')?.body.readConcern).toEqual({
        level: 'majority',
      });
    });
  });

  describe('2. every append is bounded', () => {
    it('sends the bound with the commit: maxTimeMS (maxCommitTimeMS) and a write-concern wtimeout', async () => {
      const { fake, store } = await open({ appendTimeoutMs: 4000 });
      fake.respond = ({ name }) => (name === 'findAndModify' ? counterReply(1) : undefined);
      await store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]);
      const commit = fake.operations().find((op) => op.name === 'commitTransaction');
      const maxTime = Number(commit?.body.maxTimeMS);
      expect(maxTime).toBeGreaterThan(0);
      expect(maxTime).toBeLessThanOrEqual(4000);
      expect(commit?.body.writeConcern.w).toBe('majority');
      const wtimeout = Number(commit?.body.writeConcern.wtimeout);
      expect(wtimeout).toBeGreaterThan(0);
      expect(wtimeout).toBeLessThanOrEqual(4000);
    });

    it('ends an append whose majority never acknowledges at appendTimeoutMs, reporting the timeout', async () => {
      const { fake, store } = await open({ appendTimeoutMs: 400 });
      fake.respond = async ({ name, body }) => {
        if (name === 'findAndModify') return counterReply(1);
        if (name !== 'commitTransaction') return undefined;
        // The real server waits for the write concern's wtimeout, then answers with a writeConcernError.
        const wtimeout = Number(body.writeConcern?.wtimeout ?? 0);
        await sleep(Math.min(wtimeout || 10_000, 150));
        return serverReplies.writeConcernTimeout(wtimeout);
      };
      const error = await failure(store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]));
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect((error as Error).message).toContain('400 ms');
    });

    it('ends a writer starved by write conflicts at appendTimeoutMs: nothing written, safe to retry', async () => {
      const { fake, store } = await open({ appendTimeoutMs: 300 });
      fake.respond = ({ name }) => (name === 'findAndModify' ? serverReplies.writeConflict() : undefined);
      const error = await failure(store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]));
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect((error as Error).message).toContain('300 ms');
      expect((error as Error).message).toMatch(/nothing was written/i);
      expect((error as { outcomeUnknown?: boolean }).outcomeUnknown).toBe(false);
      expect(fake.operations().map((op) => op.name)).not.toContain('commitTransaction');
    });

    it('refuses a bad appendTimeoutMs when constructed', async () => {
      fake = await startFakeMongoServer({ replicaSet: true });
      for (const appendTimeoutMs of [0, -1, 1.5, Number.NaN, '10' as unknown as number]) {
        expect(() => new MongoEventStore({ connection: fake!.uri, appendTimeoutMs })).toThrow(
          /appendTimeoutMs/,
        );
      }
    });
  });

  describe('3. commits with an unknown outcome', () => {
    it('surfaces a commit that may have been applied as "outcome unknown", not as retryable', async () => {
      const { fake, store } = await open({ appendTimeoutMs: 2000 });
      fake.respond = ({ name }) => {
        if (name === 'findAndModify') return counterReply(1);
        if (name === 'commitTransaction') return serverReplies.maxTimeExpired();
        return undefined;
      };
      const error = await failure(store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]));
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect((error as { outcomeUnknown?: boolean }).outcomeUnknown).toBe(true);
      const message = (error as Error).message;
      expect(message).toMatch(/outcome is unknown/i);
      expect(message).toMatch(/only with the same event ids/i);
      expect(
        (error as { cause?: { hasErrorLabel?: (label: string) => boolean } }).cause?.hasErrorLabel?.(
          'UnknownTransactionCommitResult',
        ),
      ).toBe(true);
    });

    it('keeps the outcome unknown when a commit retried after an unknown result fails otherwise', async () => {
      const { fake, store } = await open({ appendTimeoutMs: 5000 });
      let commits = 0;
      fake.respond = ({ name, body }) => {
        if (name === 'findAndModify') return counterReply(1);
        if (name !== 'commitTransaction') return undefined;
        commits++;
        return commits === 1
          ? serverReplies.writeConcernTimeout(Number(body.writeConcern?.wtimeout))
          : { ok: 0, code: 8000, codeName: 'AtlasError', errmsg: 'an error without labels' };
      };
      const error = await failure(store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]));
      expect(commits).toBe(2);
      expect((error as Error).message).toMatch(/outcome is unknown/);
    });

    it('retries the commit itself (never the transaction) while the outcome is unknown and time remains', async () => {
      const { fake, store } = await open({ appendTimeoutMs: 5000 });
      let commits = 0;
      fake.respond = ({ name, body }) => {
        if (name === 'findAndModify') return counterReply(1);
        if (name !== 'commitTransaction') return undefined;
        commits++;
        return commits === 1
          ? serverReplies.writeConcernTimeout(Number(body.writeConcern?.wtimeout))
          : undefined;
      };
      const result = await store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]);
      expect(result).toEqual({ nextVersion: 1, lastPosition: 1n });
      expect(commits).toBe(2);
      expect(fake.operations().filter((op) => op.name === 'insert')).toHaveLength(1);
    });
  });

  describe('4. append notifications', () => {
    it('starts the change stream at an operation time taken before subscribeToAppends resolves', async () => {
      const { fake, store } = await open();
      const subscription = await store.subscribeToAppends(() => undefined);
      for (let i = 0; i < 100 && !fake.commands.some(isChangeStreamOpen); i++) await sleep(10);
      const aggregate = fake.commands.find(isChangeStreamOpen);
      expect(aggregate?.body.pipeline[0].$changeStream.startAtOperationTime).toEqual(FAKE_LAST_WRITE);
      await subscription.close();
    });

    it('reports a change stream that died, reopens it and wakes the listener once to catch up', async () => {
      const reported: Error[] = [];
      let wakes = 0;
      const { fake, store } = await open({ onNotificationError: (error) => reported.push(error) });
      let failed = false;
      fake.respond = (command) => {
        if (command.name === 'getMore' && !failed) {
          failed = true;
          return serverReplies.changeStreamHistoryLost();
        }
        return undefined;
      };
      const subscription = await store.subscribeToAppends(() => wakes++);
      for (let i = 0; i < 300 && fake.commands.filter(isChangeStreamOpen).length < 2; i++) await sleep(10);
      expect(fake.commands.filter(isChangeStreamOpen)).toHaveLength(2);
      for (let i = 0; i < 100 && wakes === 0; i++) await sleep(10);
      expect(wakes).toBe(1);
      expect(reported).toHaveLength(1);
      expect(reported[0]!.message).toMatch(/change stream/i);
      await subscription.close();
    });
  });

  describe('5. oversized transactions', () => {
    it('refuses a batch over maxBatchBytes before sending anything', async () => {
      const { fake, store } = await open({ maxBatchBytes: 64 * 1024 });
      const events = Array.from({ length: 10 }, () => ({ type: 'A', data: { blob: 'x'.repeat(10_000) } }));
      const error = await failure(store.appendEvents('s', ExpectedVersion.Any, events));
      expect(isEventSerializationError(error)).toBe(true);
      expect((error as Error).message).toMatch(/maxBatchBytes/);
      expect(fake.operations()).toEqual([]);
    });

    it.each([
      ['TransactionTooLargeForCache (388, 6.2+)', serverReplies.transactionTooLargeForCache],
      ['TransactionTooLarge (257)', serverReplies.transactionTooLarge],
    ])(
      'maps the server refusing the transaction as too large, %s, to EventSerializationError, no retry',
      async (_, reply) => {
        const { fake, store } = await open();
        fake.respond = ({ name }) => {
          if (name === 'findAndModify') return counterReply(1);
          if (name === 'insert') return reply();
          return undefined;
        };
        const error = await failure(store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]));
        expect(isEventSerializationError(error)).toBe(true);
        expect(isEventStoreUnavailableError(error)).toBe(false);
        expect(fake.operations().filter((op) => op.name === 'insert')).toHaveLength(1);
      },
    );

    it('refuses a bad maxBatchBytes when constructed', async () => {
      fake = await startFakeMongoServer({ replicaSet: true });
      for (const maxBatchBytes of [0, -5, 2.5, 200 * 1024 * 1024]) {
        expect(() => new MongoEventStore({ connection: fake!.uri, maxBatchBytes })).toThrow(/maxBatchBytes/);
      }
    });
  });

  describe('6. the version a conflict reports', () => {
    it('is current: a snapshot older than a concurrent commit is refreshed before the conflict is reported', async () => {
      const { fake, store } = await open();
      // Attempt 1 reads from a snapshot taken before a concurrent append (version 3); that append
      // moved the counter since, so writing the counter conflicts. Attempt 2 sees version 5.
      let attempt = 0;
      fake.respond = (command) => {
        if (isHeadRead(command)) {
          attempt++;
          return headReply(attempt === 1 ? 3 : 5);
        }
        if (command.name === 'findAndModify')
          return attempt === 1 ? serverReplies.writeConflict() : counterReply(20);
        return undefined;
      };
      const error = await failure(store.appendEvents('s', 4, [{ type: 'A', data: {} }]));
      expect(isConcurrencyConflictError(error)).toBe(true);
      expect(error).toMatchObject({ expectedVersion: 4, actualVersion: 5 });
      const names = fake.operations().map((op) => op.name);
      expect(names).not.toContain('insert');
      expect(names).not.toContain('commitTransaction');
    });
  });

  describe('7. start-up', () => {
    it('reads the wire version right from a client made with promoteValues: false', async () => {
      const { fake, store } = await open({ clientOptions: { promoteValues: false } });
      fake.respond = ({ name }) => (name === 'findAndModify' ? counterReply(1) : undefined);
      const result = await store.appendEvents('s', ExpectedVersion.Any, [{ type: 'A', data: {} }]);
      expect(result.lastPosition).toBe(1n);
    });

    it('bounds index builds and says why they wait', async () => {
      fake = await startFakeMongoServer({ replicaSet: true });
      fake.respond = ({ name }) => (name === 'createIndexes' ? serverReplies.maxTimeExpired() : undefined);
      const error = await failure(migrate({ connection: fake.uri, indexBuildTimeoutMs: 1500 }));
      const createIndexes = fake.operations().find((op) => op.name === 'createIndexes');
      expect(Number(createIndexes?.body.maxTimeMS)).toBe(1500);
      expect(isEventStoreUnavailableError(error)).toBe(true);
      expect((error as Error).message).toMatch(/voting member/);
      expect((error as Error).message).toContain('1500 ms');
    });
  });

  describe('8. one event collection per partition', () => {
    it('keeps each partition in its own collection with its own counter', async () => {
      const { fake, store } = await open({ collection: 'events', partition: 'tenant-7' });
      fake.respond = ({ name }) => (name === 'findAndModify' ? counterReply(1) : undefined);
      await store.appendEvents(`s-${randomUUID()}`, ExpectedVersion.Any, [{ type: 'A', data: {} }]);
      const targets = fake.operations().map((op) => `${op.name}:${op.body[op.name]}`);
      expect(targets).toContain('findAndModify:events_tenant-7_positions');
      expect(targets).toContain('insert:events_tenant-7');
      expect(store.collectionName).toBe('events_tenant-7');
      expect(store.partition).toBe('tenant-7');
      expect(() => new MongoEventStore({ connection: fake.uri, partition: 'a.b' })).toThrow(/partition/);
    });
  });
});
