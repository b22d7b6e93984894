import {
  EventStoreUnavailableError,
  isEventStoreUnavailableError,
  isInvalidArgumentError,
  isLeaseLostError,
  isStoreNotMigratedError,
  type LeaseFence,
} from '@es/core';
import { expectStoreClosed, failureOf } from '@es/testing';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { type Document, Int32, Long, MongoClient } from 'mongodb';
import { MongoParkedEventStore } from '../src/projections/mongo-parked-event-store.js';
import { MongoPartitionLeaseStore } from '../src/projections/mongo-partition-lease-store.js';
import { MongoProjectionStore } from '../src/projections/mongo-projection-store.js';
import {
  type FakeMongoServer,
  isSchemaCheck,
  type ReceivedCommand,
  startFakeMongoServer,
} from './fake-mongo-server.js';

// The real driver against the scripted wire stand-in (NOT a MongoDB; see fake-mongo-server.ts): the
// commands the consumer-group stores send (server time through $$NOW, the conditional lease update,
// the fence as the first write of a batch transaction) and how they read the replies. What only a
// server can show (one winner among racing workers, write conflicts) runs in consumer-groups.int.test.ts.

const AT = new Date('2026-03-04T05:06:07.089Z');
const noMatch: Document = { ok: 1, n: 0, nModified: 0 };
const oneMatch: Document = { ok: 1, n: 1, nModified: 1 };
const leaseReply = (owner: string, token: number): Document => ({
  ok: 1,
  value: {
    _id: { group: 'g', kind: 'lease', partition: new Int32(0) },
    group: 'g',
    kind: 'lease',
    partition: new Int32(0),
    owner,
    token: Long.fromNumber(token),
    expiresAt: AT,
  },
  lastErrorObject: { n: 1, updatedExisting: true },
});
const groupReply = (partitions: number): Document => ({
  ok: 1,
  cursor: {
    id: Long.fromNumber(0),
    ns: 'es.consumer_groups',
    firstBatch: [
      { _id: { group: 'g', kind: 'group' }, group: 'g', kind: 'group', partitions: new Int32(partitions) },
    ],
  },
});
const writeConflict: Document = {
  ok: 0,
  code: 112,
  codeName: 'WriteConflict',
  errmsg: 'WriteConflict error: this operation conflicted with another operation',
  errorLabels: ['TransientTransactionError'],
};
const fence: LeaseFence = { group: 'g', partition: 0, token: 7n };
const updatesOf = (op: ReceivedCommand) => op.body.updates as Document[];
const target = (op: ReceivedCommand) => `${op.name}:${op.body[op.name]}`;

describe('consumer-group stores on the wire (scripted fake server, not MongoDB)', () => {
  let fake: FakeMongoServer | undefined;
  const closing: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const store of closing.splice(0)) await store.close();
    await fake?.close();
    fake = undefined;
  });
  const start = async (replicaSet = true) => {
    fake = await startFakeMongoServer({ replicaSet });
    return fake;
  };
  const leaseStore = (server: FakeMongoServer) => {
    const store = new MongoPartitionLeaseStore({ connection: server.uri });
    closing.push(store);
    return store;
  };
  const projectionStore = (server: FakeMongoServer) => {
    const store = new MongoProjectionStore({ connection: server.uri });
    closing.push(store);
    return store;
  };

  it('refuses bad options when constructed, before any request', async () => {
    const client = new MongoClient('mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100');
    const refusals: unknown[] = [];
    const refused = (build: () => unknown) => {
      try {
        build();
        refusals.push(new Error('accepted'));
      } catch (error) {
        refusals.push(error);
      }
    };
    refused(() => new MongoPartitionLeaseStore(undefined as never));
    refused(() => new MongoPartitionLeaseStore({ connection: client, collection: 'system.leases' }));
    refused(() => new MongoPartitionLeaseStore({ connection: client, collection: '$bad' }));
    refused(() => new MongoPartitionLeaseStore({ connection: client, autoMigrate: 'yes' as never }));
    refused(() => new MongoPartitionLeaseStore({ connection: client, database: 'a/b' }));
    refused(() => new MongoParkedEventStore({ connection: client, collection: '' }));
    refused(() => new MongoProjectionStore(null as never));
    refused(() => new MongoProjectionStore({ connection: client, collections: { leases: 'a..b' } }));
    refused(() => new MongoProjectionStore({ connection: client, collections: { parked: null as never } }));
    refused(() => new MongoProjectionStore({ connection: client, autoMigrate: 1 as never }));
    refused(() => new MongoProjectionStore({ connection: client, clientOptions: {} }));
    refused(() => new MongoProjectionStore({ connection: 42 as never }));
    expect(refusals.map((error) => isInvalidArgumentError(error) || String(error))).toEqual(
      refusals.map(() => true),
    );
    await client.close();
  });

  it('refuses bad lease arguments and fences before any request', async () => {
    const server = await start();
    const store = leaseStore(server);
    const calls: Array<() => Promise<unknown>> = [
      () => store.heartbeat('', 'w', 2, 1000),
      () => store.heartbeat('g', 'w', 0, 1000),
      () => store.heartbeat('g', 'w', 2, 0),
      () => store.acquire('g', -1, 'w', 1000),
      () => store.acquire('g', 0, '', 1000),
      () => store.renew({ group: 'g', partition: 0, token: 7 as never }, 1000),
      () => store.isHeld({ group: 'g', partition: 0, token: 0n }),
      () => store.release({ group: 'g', partition: 0, token: 2n ** 63n }),
      () => store.describe(''),
    ];
    for (const call of calls)
      expect(isInvalidArgumentError(await call().catch((e: unknown) => e))).toBe(true);
    const projections = projectionStore(server);
    const bad = await projections
      .commitBatch('g#0', undefined, 1n, async () => undefined, { group: 'g', partition: 0, token: -1n })
      .catch((e: unknown) => e);
    expect(isInvalidArgumentError(bad)).toBe(true);
    expect(server.operations()).toEqual([]);
  });

  it('heartbeat: the group keeps its partition count; member expiry and liveness use the server clock', async () => {
    const server = await start();
    const store = leaseStore(server);
    server.respond = ({ name, body }) => {
      if (name === 'findAndModify') return { ok: 1, value: groupReply(4).cursor.firstBatch[0] };
      if (name === 'find') {
        return {
          ok: 1,
          cursor: {
            id: Long.fromNumber(0),
            ns: `es.${body.find}`,
            firstBatch: [{ worker: 'w-b' }, { worker: '$owner' }],
          },
        };
      }
      return name === 'update' ? oneMatch : undefined;
    };
    expect(await store.heartbeat('g', '$owner', 4, 15_000)).toEqual(['$owner', 'w-b']);
    const [group, member, cleanup, live] = server.operations();
    expect(group!.body.query).toEqual({ _id: { $eq: { group: 'g', kind: 'group' } } });
    expect(group!.body.update.$setOnInsert.partitions).toEqual(new Int32(4));
    expect(group!.body.upsert).toBe(true);
    const memberUpdate = updatesOf(member!)[0]!;
    expect(memberUpdate.q).toEqual({ _id: { $eq: { group: 'g', kind: 'member', worker: '$owner' } } });
    expect(memberUpdate.upsert).toBe(true);
    // A worker id that looks like a field path goes in as a literal.
    expect(memberUpdate.u[0].$set.worker).toEqual({ $literal: '$owner' });
    expect(memberUpdate.u[0].$set.expiresAt).toEqual({ $add: ['$$NOW', new Int32(15_000)] });
    expect(cleanup!.name).toBe('delete');
    expect(live!.body.filter.$expr).toEqual({ $gt: ['$expiresAt', '$$NOW'] });

    const refused = await store.heartbeat('g', 'w-c', 8, 15_000).catch((e: unknown) => e);
    expect(isInvalidArgumentError(refused)).toBe(true);
    expect((refused as Error).message).toContain('4 partitions');
  });

  it('acquire: one conditional update timed by $$NOW, no upsert (MongoDB refuses $expr in an upsert)', async () => {
    const server = await start();
    const store = leaseStore(server);
    server.respond = ({ name }) => {
      if (name === 'find') return groupReply(2);
      if (name === 'findAndModify') return leaseReply('w-a', 3);
      return undefined;
    };
    const lease = await store.acquire('g', 0, 'w-a', 10_000);
    expect(lease).toEqual({ group: 'g', partition: 0, owner: 'w-a', token: 3n, expiresAt: AT });
    const take = server.operations().find((op) => op.name === 'findAndModify')!;
    expect(take.body.query._id).toEqual({ $eq: { group: 'g', kind: 'lease', partition: new Int32(0) } });
    expect(take.body.query.$expr).toEqual({
      $or: [
        { $eq: [{ $ifNull: ['$owner', null] }, null] },
        { $not: [{ $gt: ['$expiresAt', '$$NOW'] }] },
        { $eq: ['$owner', { $literal: 'w-a' }] },
      ],
    });
    expect(take.body.upsert).toBeFalsy();
    const set = take.body.update[0].$set;
    expect(set.owner).toEqual({ $literal: 'w-a' });
    expect(set.expiresAt).toEqual({ $add: ['$$NOW', new Int32(10_000)] });
    // Kept by its live holder, the next token otherwise (Int64 arithmetic).
    expect(set.token.$cond[0]).toEqual({
      $and: [{ $eq: ['$owner', { $literal: 'w-a' }] }, { $gt: ['$expiresAt', '$$NOW'] }],
    });
    expect(set.token.$cond[2]).toEqual({ $add: ['$token', Long.fromNumber(1)] });

    // A partition beyond the group's count, or a group nobody joined, is refused.
    expect(isInvalidArgumentError(await store.acquire('g', 2, 'w-a', 10_000).catch((e: unknown) => e))).toBe(
      true,
    );
    server.respond = () => undefined;
    const unknown = await store.acquire('g', 0, 'w-a', 10_000).catch((e: unknown) => e);
    expect(isInvalidArgumentError(unknown)).toBe(true);
    expect((unknown as Error).message).toContain('heartbeat()');
  });

  it('acquire of a partition never leased: creates the free lease document, then takes it', async () => {
    const server = await start();
    const store = leaseStore(server);
    let takes = 0;
    server.respond = ({ name }) => {
      if (name === 'find') return groupReply(1);
      if (name === 'findAndModify') return takes++ === 0 ? { ok: 1, value: null } : leaseReply('w-a', 1);
      if (name === 'update') return { ok: 1, n: 1, nModified: 0, upserted: [{ index: 0, _id: 'x' }] };
      return undefined;
    };
    expect(await store.acquire('g', 0, 'w-a', 10_000)).toMatchObject({ owner: 'w-a', token: 1n });
    expect(server.operations().map((op) => op.name)).toEqual([
      'find',
      'findAndModify',
      'update',
      'findAndModify',
    ]);
    const seed = updatesOf(server.operations()[2]!)[0]!;
    expect(seed.upsert).toBe(true);
    expect(seed.q.$expr).toBeUndefined();
    expect(seed.u.$setOnInsert).toMatchObject({ owner: null, token: Long.fromNumber(0), kind: 'lease' });
  });

  it('acquire: a racing first acquire (duplicate key on the seed) tries the conditional update again; a live lease of another worker is undefined', async () => {
    const server = await start();
    const store = leaseStore(server);
    server.respond = ({ name }) => {
      if (name === 'find') return groupReply(1);
      if (name === 'findAndModify') return { ok: 1, value: null };
      if (name === 'update') {
        return {
          ok: 1,
          n: 0,
          writeErrors: [{ index: 0, code: 11000, errmsg: 'E11000 duplicate key error index: _id_ dup key' }],
        };
      }
      return undefined;
    };
    // The racing worker won: the second conditional update finds its live lease.
    expect(await store.acquire('g', 0, 'w-b', 10_000)).toBeUndefined();
    expect(server.operations().map((op) => op.name)).toEqual([
      'find',
      'findAndModify',
      'update',
      'findAndModify',
    ]);

    // The document exists (held by another worker): the seed changes nothing, no second try.
    server.commands.length = 0;
    server.respond = ({ name }) => {
      if (name === 'find') return groupReply(1);
      if (name === 'findAndModify') return { ok: 1, value: null };
      return name === 'update' ? oneMatch : undefined;
    };
    expect(await store.acquire('g', 0, 'w-b', 10_000)).toBeUndefined();
    expect(server.operations().map((op) => op.name)).toEqual(['find', 'findAndModify', 'update']);
  });

  it('renew, isHeld and release match the lease only with its token, an owner and expiresAt > $$NOW', async () => {
    const server = await start();
    const store = leaseStore(server);
    server.respond = ({ name }) => (name === 'update' ? oneMatch : undefined);
    expect(await store.renew(fence, 5_000)).toBe(true);
    expect(await store.isHeld(fence)).toBe(false);
    await store.release(fence);
    const [renew, held, release] = server.operations();
    const guard = {
      _id: { $eq: { group: 'g', kind: 'lease', partition: new Int32(0) } },
      owner: { $type: 'string' },
      token: { $eq: Long.fromNumber(7) },
      $expr: { $gt: ['$expiresAt', '$$NOW'] },
    };
    expect(updatesOf(renew!)[0]!.q).toEqual(guard);
    expect(updatesOf(renew!)[0]!.u).toEqual([{ $set: { expiresAt: { $add: ['$$NOW', new Int32(5_000)] } } }]);
    expect(held!.body.filter).toEqual(guard);
    expect(updatesOf(release!)[0]!.q).toEqual(guard);
    expect(updatesOf(release!)[0]!.u).toEqual([{ $set: { owner: null, expiresAt: '$$NOW' } }]);
    server.respond = ({ name }) => (name === 'update' ? noMatch : undefined);
    expect(await store.renew(fence, 5_000)).toBe(false);
  });

  it('the projection store refuses a standalone server before writing anything', async () => {
    const server = await start(false);
    const store = projectionStore(server);
    const error = await store.commitBatch('p', undefined, 1n, async () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toContain('replica set');
    expect(server.operations()).toEqual([]);
  });

  it('a fenced batch touches the lease first, then moves the checkpoint, then commits, in one transaction', async () => {
    const server = await start();
    const store = projectionStore(server);
    server.respond = ({ name }) => (name === 'update' ? oneMatch : undefined);
    const seen: string[] = [];
    expect(
      await store.commitBatch(
        'g#0',
        4n,
        9n,
        async (batch) => {
          await batch.attempt(async ({ session, db }) => {
            seen.push(`${db.databaseName} ${session.inTransaction()}`);
          });
        },
        fence,
      ),
    ).toBe(true);
    expect(seen).toEqual(['es true']);
    const operations = server.operations();
    expect(operations.map(target)).toEqual([
      'update:consumer_groups',
      'update:checkpoints',
      'commitTransaction:1',
    ]);
    const [lease, checkpoint, commit] = operations as [ReceivedCommand, ReceivedCommand, ReceivedCommand];
    for (const op of operations) {
      expect(op.body.txnNumber).toEqual(lease.body.txnNumber);
      expect(op.body.autocommit).toBe(false);
    }
    expect(lease.body.startTransaction).toBe(true);
    expect(lease.body.readConcern).toEqual({ level: 'snapshot' });
    expect(commit.body.writeConcern).toMatchObject({ w: 'majority' });
    expect(updatesOf(lease)[0]!.q).toMatchObject({
      token: { $eq: Long.fromNumber(7) },
      $expr: { $gt: ['$expiresAt', '$$NOW'] },
    });
    expect(updatesOf(lease)[0]!.u).toEqual([{ $set: { lastCommitAt: '$$NOW' } }]);
    expect(updatesOf(checkpoint)[0]!.q).toEqual({
      _id: { $eq: 'g#0' },
      position: { $eq: Long.fromNumber(4) },
    });
    expect(updatesOf(checkpoint)[0]!.u.$set.position).toEqual(Long.fromNumber(9));
  });

  it('a batch whose guarded lease update matches nothing is refused with LeaseLostError: no work, no checkpoint, aborted', async () => {
    const server = await start();
    const store = projectionStore(server);
    server.respond = ({ name }) => (name === 'update' ? noMatch : undefined);
    const work = jest.fn(async () => undefined);
    const error = await store.commitBatch('g#0', 4n, 9n, work, fence).catch((e: unknown) => e);
    expect(isLeaseLostError(error)).toBe(true);
    expect(error).toMatchObject({ group: 'g', partition: 0, token: 7n });
    expect(work).not.toHaveBeenCalled();
    expect(server.operations().map(target)).toEqual(['update:consumer_groups', 'abortTransaction:1']);
  });

  it('an unexpected checkpoint refuses the batch before the work runs; a first checkpoint is an upsert', async () => {
    const server = await start();
    const store = projectionStore(server);
    server.respond = ({ name }) => (name === 'update' ? oneMatch : undefined);
    const work = jest.fn(async () => undefined);
    // expected undefined: the upsert found a document (no upserted id), so another instance started.
    expect(await store.commitBatch('p', undefined, 3n, work)).toBe(false);
    const first = updatesOf(server.operations()[0]!)[0]!;
    expect(first.upsert).toBe(true);
    expect(first.u.$setOnInsert.position).toEqual(Long.fromNumber(3));
    server.respond = ({ name }) => (name === 'update' ? noMatch : undefined);
    expect(await store.commitBatch('p', 2n, 3n, work)).toBe(false);
    expect(work).not.toHaveBeenCalled();
    expect(server.operations().filter((op) => op.name === 'commitTransaction')).toEqual([]);
  });

  it('a write conflict on the first writes opens the transaction again, without running the work twice', async () => {
    const server = await start();
    const store = projectionStore(server);
    let checkpointWrites = 0;
    server.respond = ({ name }) => {
      if (name !== 'update') return undefined;
      return checkpointWrites++ === 0 ? writeConflict : oneMatch;
    };
    const work = jest.fn(async () => undefined);
    expect(await store.commitBatch('p', 1n, 2n, work)).toBe(true);
    expect(work).toHaveBeenCalledTimes(1);
    expect(server.operations().map((op) => op.name)).toEqual([
      'update',
      'abortTransaction',
      'update',
      'commitTransaction',
    ]);
  });

  it('no savepoints: a failed attempt aborts, the batch is opened again and its earlier steps redone, then the error is rethrown', async () => {
    const server = await start();
    const store = projectionStore(server);
    server.respond = ({ name }) => (name === 'update' ? oneMatch : undefined);
    const runs: string[] = [];
    const failure = new Error('handler failed');
    const committed = await store.commitBatch('p', 1n, 5n, async (batch) => {
      await batch.attempt(async ({ db, session }) => {
        runs.push('first');
        await db.collection('read_model').insertOne({ marker: 'first' }, { session });
      });
      await batch.park({
        subscriptionId: 'p',
        position: 3n,
        eventId: 'e3',
        streamId: 's',
        eventType: 'T',
        error: 'Error: x',
        attempts: 2,
        parkedAt: AT,
      });
      await expect(
        batch.attempt(async () => {
          runs.push('second');
          throw failure;
        }),
      ).rejects.toBe(failure);
      await batch.attempt(async () => {
        runs.push('third');
      });
    });
    expect(committed).toBe(true);
    expect(runs).toEqual(['first', 'second', 'first', 'third']);
    expect(server.operations().map(target)).toEqual([
      'update:checkpoints',
      'insert:read_model',
      'update:parked_events',
      'abortTransaction:1',
      'update:checkpoints', // the batch opened again: same checkpoint compare-and-set
      'insert:read_model', // the first attempt redone
      'update:parked_events', // the park redone (an upsert: a duplicate key would abort the transaction)
      'commitTransaction:1',
    ]);
    const txns = server.operations().map((op) => JSON.stringify(op.body.txnNumber));
    expect(txns[0]).not.toBe(txns[4]);
    expect(new Set(txns.slice(4)).size).toBe(1);
  });

  it('a failed attempt that finds the checkpoint moved when the batch is opened again ends the batch with false', async () => {
    const server = await start();
    const store = projectionStore(server);
    let checkpointWrites = 0;
    server.respond = ({ name }) =>
      name === 'update' ? (checkpointWrites++ === 0 ? oneMatch : noMatch) : undefined;
    const second = jest.fn(async () => undefined);
    const committed = await store.commitBatch('p', 1n, 5n, async (batch) => {
      const ended = await batch
        .attempt(async () => {
          throw new Error('handler failed');
        })
        .catch((e: unknown) => e);
      // Reported as the store's fault, so a projection does not spend the handler's attempts on it.
      expect(isEventStoreUnavailableError(ended)).toBe(true);
      // The work caught it: later steps fail the same way, and the batch still ends with false.
      await batch.attempt(second).catch(() => undefined);
    });
    expect(committed).toBe(false);
    expect(second).not.toHaveBeenCalled();
    expect(server.operations().filter((op) => op.name === 'commitTransaction')).toEqual([]);
  });

  it('a failed attempt that finds the lease lost when the batch is opened again ends the batch with LeaseLostError', async () => {
    const server = await start();
    const store = projectionStore(server);
    let leaseWrites = 0;
    server.respond = ({ name, body }) => {
      if (name !== 'update') return undefined;
      if (body.update !== 'consumer_groups') return oneMatch;
      return leaseWrites++ === 0 ? oneMatch : noMatch;
    };
    const error = await store
      .commitBatch(
        'g#0',
        1n,
        5n,
        async (batch) => {
          await batch.attempt(async () => {
            throw new Error('handler failed');
          });
        },
        fence,
      )
      .catch((e: unknown) => e);
    expect(isLeaseLostError(error)).toBe(true);
    expect(server.operations().map(target)).toEqual([
      'update:consumer_groups',
      'update:checkpoints',
      'abortTransaction:1',
      'update:consumer_groups',
      'abortTransaction:1',
    ]);
  });

  it('a write conflict inside a handler is the store fault, not a handler failure', async () => {
    const server = await start();
    const store = projectionStore(server);
    server.respond = ({ name }) => {
      if (name === 'update') return oneMatch;
      return name === 'insert' ? writeConflict : undefined;
    };
    const error = await store
      .commitBatch('p', 1n, 2n, async (batch) => {
        await batch.attempt(async ({ db, session }) => {
          await db.collection('read_model').insertOne({ a: 1 }, { session });
        });
      })
      .catch((e: unknown) => e);
    expect(isEventStoreUnavailableError(error)).toBe(true);
    expect(server.operations().filter((op) => op.name === 'commitTransaction')).toEqual([]);
  });

  it('the parked event store parks with an upsert keeping the first record, and lists in position order', async () => {
    const server = await start();
    const store = new MongoParkedEventStore({ connection: server.uri });
    closing.push(store);
    await store.park({
      subscriptionId: 'p',
      position: 2n ** 62n,
      eventId: 'e',
      streamId: 's',
      eventType: 'T',
      error: 'Error: x',
      attempts: 5,
      parkedAt: AT,
    });
    await store.list('p');
    const [park, list] = server.operations();
    const update = updatesOf(park!)[0]!;
    expect(update.q).toEqual({ subscriptionId: { $eq: 'p' }, position: { $eq: Long.fromBigInt(2n ** 62n) } });
    expect(update.upsert).toBe(true);
    expect(Object.keys(update.u)).toEqual(['$setOnInsert']);
    expect(update.u.$setOnInsert).toEqual({
      eventId: 'e',
      streamId: 's',
      eventType: 'T',
      error: 'Error: x',
      attempts: new Int32(5),
      parkedAt: AT,
    });
    expect(list!.body.sort).toEqual({ position: new Int32(1) });
  });

  it('retry requests: a mark set only where none is, a count when it matched nothing, a listing of marked ones, a failure recorded', async () => {
    const server = await start();
    const store = new MongoParkedEventStore({ connection: server.uri });
    closing.push(store);
    // First request: the update matches (the record was not marked yet).
    server.respond = ({ name }) => (name === 'update' ? oneMatch : undefined);
    expect(await store.requestRetry('p#0', 7n)).toBe(true);
    const [mark] = server.operations();
    const update = updatesOf(mark!)[0]!;
    expect(update.q).toEqual({
      subscriptionId: { $eq: 'p#0' },
      position: { $eq: Long.fromBigInt(7n) },
      retryRequestedAt: { $exists: false },
    });
    expect(Object.keys(update.u)).toEqual(['$set']);
    expect(update.u.$set.retryRequestedAt).toBeInstanceOf(Date);
    expect(update.upsert).not.toBe(true);

    // Marked already or not parked: the update matches nothing, and a count tells which.
    server.respond = ({ name }) => (name === 'update' ? noMatch : undefined);
    expect(await store.requestRetry('p#0', 8n)).toBe(false);
    const count = server.operations().find((op) => op.name === 'aggregate' || op.name === 'count');
    expect(count).toBeDefined();

    await store.listRetryRequests(['p#0', 'p#1']);
    const list = server
      .operations()
      .filter((op) => op.name === 'find')
      .at(-1)!;
    expect(list.body.filter).toEqual({
      subscriptionId: { $in: ['p#0', 'p#1'] },
      retryRequestedAt: { $exists: true },
    });

    server.respond = ({ name }) => (name === 'update' ? oneMatch : undefined);
    await store.recordRetryFailure('p#0', 7n, 'Error: again');
    const failed = updatesOf(
      server
        .operations()
        .filter((op) => op.name === 'update')
        .at(-1)!,
    )[0]!;
    expect(failed.u).toEqual({
      $inc: { attempts: new Int32(1) },
      $set: { error: 'Error: again' },
      $unset: { retryRequestedAt: '' },
    });
  });

  it('stores used before migrate() fail with StoreNotMigratedError naming their migrations; autoMigrate applies them', async () => {
    const server = await start();
    server.migrated = false;
    const leases = leaseStore(server);
    const projections = new MongoProjectionStore({
      connection: server.uri,
      collections: { checkpoints: 'marks', leases: 'groups' },
    });
    closing.push(projections);
    const refused = await failureOf(() => projections.load('p'));
    expect(isStoreNotMigratedError(refused)).toBe(true);
    expect((refused as Error).message).toContain('marks#4, groups#6, parked_events#7');
    expect(isStoreNotMigratedError(await failureOf(() => leases.describe('g')))).toBe(true);
    expect(server.operations()).toEqual([]);

    const auto = new MongoProjectionStore({ connection: server.uri, autoMigrate: true });
    closing.push(auto);
    expect(await auto.load('p')).toBeUndefined();
    const indexes = server
      .operations()
      .filter((op) => op.name === 'createIndexes')
      .map((op) => [op.body.createIndexes, (op.body.indexes as Document[]).map((index) => index.name)]);
    expect(indexes).toEqual([
      ['consumer_groups', ['group_kind']],
      ['parked_events', ['subscription_position']],
    ]);
    expect(server.commands.filter(isSchemaCheck)).toHaveLength(2);
  });

  it('after close() every call fails with StoreClosedError', async () => {
    const server = await start();
    const leases = leaseStore(server);
    const projections = projectionStore(server);
    const parked = new MongoParkedEventStore({ connection: server.uri });
    for (const store of [leases, projections, parked]) await store.close();
    await expectStoreClosed('MongoPartitionLeaseStore', {
      heartbeat: () => leases.heartbeat('g', 'w', 1, 1000),
      acquire: () => leases.acquire('g', 0, 'w', 1000),
      renew: () => leases.renew(fence, 1000),
      describe: () => leases.describe('g'),
      migrate: () => leases.migrate(),
    });
    await expectStoreClosed('MongoProjectionStore', {
      load: () => projections.load('p'),
      commitBatch: () => projections.commitBatch('p', undefined, 1n, async () => undefined),
      listParked: () => projections.listParked('p'),
      migrate: () => projections.migrate(),
    });
    await expectStoreClosed('MongoParkedEventStore', { list: () => parked.list('p') });
  });
});
