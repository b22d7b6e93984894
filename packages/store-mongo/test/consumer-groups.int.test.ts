import { checkpointProjectionStore, isLeaseLostError, type ProjectionStore } from '@es/core';
import {
  describeParkedEventStoreContract,
  describePartitionLeaseStoreContract,
  describeProjectionStoreContract,
  describeWithService,
} from '@es/testing';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  MongoCheckpointStore,
  MongoParkedEventStore,
  MongoPartitionLeaseStore,
  type MongoProjectionContext,
  MongoProjectionStore,
} from '../src/index.js';
import { mongoFixture } from './mongo-fixture.js';

// The consumer-group contracts against a real MongoDB (a replica set): leases, parked events and
// the transactional projection store with fences. The server comes from MONGO_URL, or from
// testcontainers (see mongo-global-setup.cjs); without either, this prints one line and skips.
const why = process.env.ES_MONGO_SKIP_REASON;
const howToEnable =
  'set MONGO_URL to a MongoDB replica set, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0, or run where ' +
  `testcontainers finds a container runtime; see packages/store-mongo/README.md${why ? `; ${why}` : ''}`;
const source = process.env.ES_MONGO_SOURCE;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeWithService(
  `MongoDB consumer-group stores against a real server${source ? ` (${source})` : ''}`,
  'MONGO_URL',
  (url) => {
    const mongo = mongoFixture(url);
    // One set of collections for this file: every test uses fresh group and subscription names.
    const collections = {
      checkpoints: mongo.unique('checkpoints'),
      parked: mongo.unique('parked'),
      leases: mongo.unique('groups'),
    };
    const readModel = mongo.unique('read_model');
    const options = { database: mongo.database, autoMigrate: true };
    const leaseStore = () =>
      new MongoPartitionLeaseStore({
        connection: mongo.client(),
        collection: collections.leases,
        ...options,
      });
    beforeAll(async () => {
      await mongo.client().db(mongo.database).createCollection(readModel);
    });
    afterAll(async () => {
      await mongo.drop(collections.checkpoints, collections.parked, collections.leases, readModel);
    });

    describePartitionLeaseStoreContract({
      name: 'MongoPartitionLeaseStore',
      timeoutMs: 60_000,
      create: async () => leaseStore(),
      // A second process: its own client, from the connection string.
      contender: async () =>
        new MongoPartitionLeaseStore({ connection: url, collection: collections.leases, ...options }),
      cleanup: (store) => (store as MongoPartitionLeaseStore).close(),
    });

    describeParkedEventStoreContract({
      name: 'MongoParkedEventStore',
      timeoutMs: 60_000,
      create: async () =>
        new MongoParkedEventStore({ connection: mongo.client(), collection: collections.parked, ...options }),
    });

    const markers = () => mongo.client().db(mongo.database).collection<{ _id: string }>(readModel);
    describeProjectionStoreContract<MongoProjectionContext>({
      name: 'MongoProjectionStore',
      timeoutMs: 60_000,
      create: async () => new MongoProjectionStore({ connection: mongo.client(), collections, ...options }),
      writes: {
        write: async ({ db, session }, marker) => {
          await db.collection<{ _id: string }>(readModel).insertOne({ _id: marker }, { session });
        },
        has: async (_store, marker) => (await markers().findOne({ _id: marker })) !== null,
      },
      leases: async () => leaseStore(),
      limitations: {
        savepoints:
          'MongoDB has no savepoints: a failed attempt aborts the transaction, which is reopened and the batch’s earlier attempts run again',
      },
    });

    // At-least-once over the single-document stores (any topology): the same fences, checked
    // before the handler and before the checkpoint.
    describeProjectionStoreContract({
      name: 'checkpointProjectionStore over MongoCheckpointStore and MongoParkedEventStore',
      timeoutMs: 60_000,
      create: async () =>
        checkpointProjectionStore(
          new MongoCheckpointStore({
            connection: mongo.client(),
            collection: collections.checkpoints,
            ...options,
          }),
          new MongoParkedEventStore({
            connection: mongo.client(),
            collection: collections.parked,
            ...options,
          }),
          leaseStore(),
        ),
      leases: async () => leaseStore(),
      limitations: {
        transactional:
          'checkpointProjectionStore stores the checkpoint after the handler, apart from the read model',
      },
    });

    describe('MongoProjectionStore fences against a takeover', () => {
      jest.setTimeout(60_000);

      it('a takeover tried while a fenced batch runs waits for its commit, and sees its checkpoint', async () => {
        const store = new MongoProjectionStore({ connection: mongo.client(), collections, ...options });
        const leases = leaseStore();
        const contender = new MongoPartitionLeaseStore({
          connection: url,
          collection: collections.leases,
          ...options,
        });
        try {
          const group = mongo.unique('group');
          await leases.heartbeat(group, 'worker-a', 1, 60_000);
          const lease = (await leases.acquire(group, 0, 'worker-a', 400))!;
          let takeover: Promise<unknown> | undefined;
          const committed = await store.commitBatch(
            `${group}#0`,
            undefined,
            7n,
            async (batch) => {
              await batch.attempt(async ({ db, session }) => {
                await db.collection<{ _id: string }>(readModel).insertOne({ _id: `${group}-a` }, { session });
              });
              // The lease lapses by the server's clock while the batch still runs.
              await sleep(800);
              takeover = contender.acquire(group, 0, 'worker-b', 60_000);
              await sleep(300);
            },
            lease,
          );
          expect(committed).toBe(true);
          const taken = (await takeover) as { token: bigint } | undefined;
          expect(taken?.token).toBeGreaterThan(lease.token);
          // The new owner starts from the old owner's commit, never before it.
          expect(await store.load(`${group}#0`)).toBe(7n);
          expect(await markers().findOne({ _id: `${group}-a` })).not.toBeNull();
          const late = await store
            .commitBatch(`${group}#0`, 7n, 8n, async () => undefined, lease)
            .catch((error: unknown) => error);
          expect(isLeaseLostError(late)).toBe(true);
        } finally {
          await contender.close();
          await store.close();
        }
      });

      it('a failed handler attempt leaves no write, the earlier attempts of the batch stay', async () => {
        const store: ProjectionStore<MongoProjectionContext> = new MongoProjectionStore({
          connection: mongo.client(),
          collections,
          ...options,
        });
        const subscription = mongo.unique('projection');
        const write =
          (marker: string) =>
          async ({ db, session }: MongoProjectionContext) => {
            await db.collection<{ _id: string }>(readModel).insertOne({ _id: marker }, { session });
          };
        await store.commitBatch(subscription, undefined, 3n, async (batch) => {
          await batch.attempt(write(`${subscription}-1`));
          await batch
            .attempt(async (context) => {
              await write(`${subscription}-2`)(context);
              // A duplicate key inside the transaction: MongoDB aborts the transaction itself.
              await write(`${subscription}-1`)(context);
            })
            .catch(() => undefined);
          await batch.attempt(write(`${subscription}-3`));
        });
        const stored = await markers()
          .find({ _id: { $in: [1, 2, 3].map((i) => `${subscription}-${i}`) } })
          .toArray();
        expect(stored.map((document) => document._id).sort()).toEqual([
          `${subscription}-1`,
          `${subscription}-3`,
        ]);
        expect(await store.load(subscription)).toBe(3n);
      });
    });
  },
  howToEnable,
);
