import {
  isEventStoreUnavailableError,
  isStoreAuthenticationError,
  isStoreNotMigratedError,
  isStorePermissionDeniedError,
} from '@es/core';
import { expectStoreClosed, failureOf } from '@es/testing';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MongoEventStore } from '../src/events/mongo-event-store.js';
import { MongoCheckpointStore } from '../src/projections/mongo-checkpoint-store.js';
import { MongoSnapshotStore } from '../src/snapshots/mongo-snapshot-store.js';
import { type FakeMongoServer, isSchemaCheck, startFakeMongoServer } from './fake-mongo-server.js';

// The real driver against the scripted wire-protocol stand-in (NOT a MongoDB; see fake-mongo-server.ts).

describe('MongoDB stores: closed stores and errors an operator must fix (scripted fake server)', () => {
  let fake: FakeMongoServer | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('every method of every store fails with StoreClosedError after close(); a second close() does nothing', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    const events = new MongoEventStore({ connection: fake.uri });
    const snapshots = new MongoSnapshotStore({ connection: fake.uri });
    const checkpoints = new MongoCheckpointStore({ connection: fake.uri });
    expect(await events.getEvents('s')).toEqual([]);
    for (const store of [events, snapshots, checkpoints]) {
      await store.close();
      await store.close();
    }
    const sent = fake.operations().length;
    const calls: Record<string, [string, () => unknown]> = {
      appendEvents: [
        'MongoEventStore',
        () => events.appendEvents('s', 'any', [{ type: 'Opened', data: {} }]),
      ],
      getEvents: ['MongoEventStore', () => events.getEvents('s')],
      getEventsByType: ['MongoEventStore', () => events.getEventsByType('Opened')],
      getAllEvents: ['MongoEventStore', () => events.getAllEvents()],
      getStreamVersion: ['MongoEventStore', () => events.getStreamVersion('s')],
      streamExists: ['MongoEventStore', () => events.streamExists('s')],
      subscribeToAppends: ['MongoEventStore', () => events.subscribeToAppends(() => undefined)],
      migrate: ['MongoEventStore', () => events.migrate()],
      'snapshot save': [
        'MongoSnapshotStore',
        () =>
          snapshots.save({
            streamId: 's',
            aggregateVersion: 1,
            snapshotVersion: 1,
            state: {},
            createdAt: new Date(),
          }),
      ],
      'snapshot load': ['MongoSnapshotStore', () => snapshots.load('s')],
      'snapshot delete': ['MongoSnapshotStore', () => snapshots.delete('s')],
      'snapshot migrate': ['MongoSnapshotStore', () => snapshots.migrate()],
      'checkpoint load': ['MongoCheckpointStore', () => checkpoints.load('p')],
      'checkpoint save': ['MongoCheckpointStore', () => checkpoints.save('p', 1n)],
      'checkpoint saveIf': ['MongoCheckpointStore', () => checkpoints.saveIf('p', undefined, 1n)],
      'checkpoint reset': ['MongoCheckpointStore', () => checkpoints.reset('p')],
      'checkpoint migrate': ['MongoCheckpointStore', () => checkpoints.migrate()],
    };
    for (const [method, [store, call]] of Object.entries(calls))
      await expectStoreClosed(store, { [method]: call });
    expect(fake.operations()).toHaveLength(sent);
  });

  it('refused credentials: StoreAuthenticationError, not "unavailable"', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    fake.respond = ({ name }) =>
      name === 'saslStart'
        ? { ok: 0, code: 18, codeName: 'AuthenticationFailed', errmsg: 'Authentication failed.' }
        : undefined;
    const uri = fake.uri.replace('mongodb://', 'mongodb://app:wrong@');
    const store = new MongoEventStore({
      connection: `${uri}${uri.includes('?') ? '&' : '?'}authMechanism=SCRAM-SHA-256&authSource=admin`,
    });
    try {
      const error = await failureOf(() => store.getEvents('s'));
      expect(isStoreAuthenticationError(error)).toBe(true);
      expect(isEventStoreUnavailableError(error)).toBe(false);
      expect((error as Error).message).toMatch(/Check the user, password and authSource/);
    } finally {
      await store.close();
    }
  });

  it('a user without the role: StorePermissionDeniedError; a missing index: StoreNotMigratedError', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    const store = new MongoEventStore({ connection: fake.uri });
    try {
      fake.respond = ({ name }) =>
        name === 'find'
          ? {
              ok: 0,
              code: 13,
              codeName: 'Unauthorized',
              errmsg: 'not authorized on es to execute command { find: "events" }',
            }
          : undefined;
      const denied = await failureOf(() => store.getEvents('s'));
      expect(isStorePermissionDeniedError(denied)).toBe(true);
      expect((denied as Error).message).toMatch(/Grant the user a role/);
      fake.respond = ({ name }) =>
        name === 'find'
          ? {
              ok: 0,
              code: 2,
              codeName: 'BadValue',
              errmsg:
                'error processing query: planner returned error :: caused by :: hint provided does not correspond to an existing index',
            }
          : undefined;
      const missing = await failureOf(() => store.getEventsByType('Opened'));
      expect(isStoreNotMigratedError(missing)).toBe(true);
      expect((missing as Error).message).toMatch(/run migrate\(\)/);
    } finally {
      await store.close();
    }
  });

  it('a store used before migrate() fails with StoreNotMigratedError naming the missing migrations, and writes nothing', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    fake.migrated = false;
    const events = new MongoEventStore({ connection: fake.uri, collection: 'orders' });
    const snapshots = new MongoSnapshotStore({ connection: fake.uri });
    const checkpoints = new MongoCheckpointStore({ connection: fake.uri });
    try {
      const append = await failureOf(() => events.appendEvents('s', 'any', [{ type: 'Opened', data: {} }]));
      expect(isStoreNotMigratedError(append)).toBe(true);
      expect((append as Error).message).toContain('orders#1, orders_positions#2, orders#5, orders#8');
      expect((append as Error).message).toMatch(/migrate\(\{ connection, database/);
      expect(isStoreNotMigratedError(await failureOf(() => snapshots.load('s')))).toBe(true);
      expect(isStoreNotMigratedError(await failureOf(() => checkpoints.load('p')))).toBe(true);
      // Nothing but the check reached the server.
      expect(fake.operations()).toEqual([]);
      expect(fake.commands.filter(isSchemaCheck).map((command) => command.body.filter._id.$in)).toEqual([
        ['orders#1', 'orders_positions#2', 'orders#5', 'orders#8'],
        ['snapshots#3'],
        ['checkpoints#4'],
      ]);
      // The check is not kept: once migrated, the same store works.
      fake.migrated = true;
      expect(await events.getEvents('s')).toEqual([]);
    } finally {
      for (const store of [events, snapshots, checkpoints]) await store.close();
    }
  });

  it('autoMigrate: true applies the migrations on first use instead of checking them', async () => {
    fake = await startFakeMongoServer({ replicaSet: true });
    fake.migrated = false;
    const store = new MongoCheckpointStore({ connection: fake.uri, autoMigrate: true });
    try {
      expect(await store.load('p')).toBeUndefined();
      expect(fake.commands.some(isSchemaCheck)).toBe(false);
      expect(fake.operations().map((op) => `${op.name}:${op.body[op.name]}`)).toEqual([
        'find:es_schema_migrations',
        'create:checkpoints',
        'update:es_schema_migrations',
        'find:checkpoints',
      ]);
    } finally {
      await store.close();
    }
  });
});
