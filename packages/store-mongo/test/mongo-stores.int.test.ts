import {
  describeCheckpointStoreContract,
  describeDcbContract,
  describeEventStoreContract,
  describeSnapshotStoreContract,
  describeWithService,
} from '@es/testing';
import { MongoCheckpointStore, MongoEventStore, MongoSnapshotStore } from '../src/index.js';
import { mongoFixture } from './mongo-fixture.js';
import { mongoSpecifics } from './mongo-specifics.js';

// The contract suites against a real MongoDB (a replica set). The server comes from MONGO_URL, or
// from testcontainers (see mongo-global-setup.cjs); without either, this prints one line and skips.
const why = process.env.ES_MONGO_SKIP_REASON;
const howToEnable =
  'set MONGO_URL to a MongoDB replica set, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0, or run where ' +
  `testcontainers finds a container runtime; see packages/store-mongo/README.md${why ? `; ${why}` : ''}`;
const source = process.env.ES_MONGO_SOURCE;

describeWithService(
  `MongoDB stores against a real server${source ? ` (${source})` : ''}`,
  'MONGO_URL',
  (url) => {
    const mongo = mongoFixture(url);

    describeEventStoreContract({
      name: 'MongoEventStore',
      timeoutMs: 120_000,
      create: async ({ registry, sameStorageAs }) =>
        new MongoEventStore({
          connection: mongo.client(),
          database: mongo.database,
          collection: sameStorageAs
            ? (sameStorageAs as MongoEventStore).collectionName
            : mongo.unique('events'),
          registry,
          autoMigrate: true,
        }),
      cleanup: async (store) => {
        const { collectionName } = store as MongoEventStore;
        await mongo.drop(collectionName, `${collectionName}_positions`);
        await store.close();
      },
    });

    // Dynamic consistency boundaries: 8 racers over 100 rounds on the replica set. Not run on the
    // machine this was written on (no MongoDB can run there); see the README.
    describeDcbContract({
      name: 'MongoEventStore',
      timeoutMs: 300_000,
      create: async ({ registry, sameStorageAs }) =>
        new MongoEventStore({
          connection: mongo.client(),
          database: mongo.database,
          collection: sameStorageAs ? (sameStorageAs as MongoEventStore).collectionName : mongo.unique('dcb'),
          registry,
          autoMigrate: true,
        }),
      cleanup: async (store) => {
        const { collectionName } = store as MongoEventStore;
        await mongo.drop(collectionName, `${collectionName}_positions`);
        await store.close();
      },
    });

    describeSnapshotStoreContract({
      name: 'MongoSnapshotStore',
      timeoutMs: 60_000,
      create: async () =>
        new MongoSnapshotStore({
          connection: mongo.client(),
          database: mongo.database,
          collection: mongo.unique('snapshots'),
          autoMigrate: true,
        }),
      cleanup: async (store) => {
        await mongo.drop((store as MongoSnapshotStore).collectionName);
      },
    });

    describeCheckpointStoreContract({
      name: 'MongoCheckpointStore',
      timeoutMs: 60_000,
      create: async () =>
        new MongoCheckpointStore({
          connection: mongo.client(),
          database: mongo.database,
          collection: mongo.unique('checkpoints'),
          autoMigrate: true,
        }),
      cleanup: async (store) => {
        await mongo.drop((store as MongoCheckpointStore).collectionName);
      },
    });

    mongoSpecifics(mongo);
  },
  howToEnable,
);
