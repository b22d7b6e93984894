import {
  EventStoreUnavailableError,
  ExpectedVersion,
  InvalidArgumentError,
  isEventStoreUnavailableError,
  type NewEvent,
} from '@es/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { databaseFromUri } from '../connection/connection.js';
import { MongoEventStore } from './mongo-event-store.js';

// No MongoDB server runs where these tests run: they check what happens before and without one.
// Port 9 (discard) refuses connections on this machine, so server selection fails fast.
const UNREACHABLE = 'mongodb://127.0.0.1:9/es?serverSelectionTimeoutMS=300&connectTimeoutMS=300';

describe('MongoEventStore without a server', () => {
  const opened: MongoEventStore[] = [];
  const open = (options: ConstructorParameters<typeof MongoEventStore>[0]) => {
    const store = new MongoEventStore(options);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('refuses bad configuration before connecting', () => {
    expect(() => new MongoEventStore({ connection: UNREACHABLE, collection: 'system.events' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new MongoEventStore({ connection: UNREACHABLE, collection: 'ev$nts' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new MongoEventStore({ connection: UNREACHABLE, database: 'a/b' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new MongoEventStore({ connection: 'http://nope' })).toThrow(InvalidArgumentError);
    expect(() => new MongoEventStore({} as never)).toThrow(InvalidArgumentError);
    expect(() => new MongoEventStore({ connection: 42 as never })).toThrow(InvalidArgumentError);
    expect(
      () => new MongoEventStore({ connection: UNREACHABLE, logReadConcern: 'linearizable' as never }),
    ).toThrow(InvalidArgumentError);
    const client = new MongoClient(UNREACHABLE);
    expect(() => new MongoEventStore({ connection: client, clientOptions: {} })).toThrow(
      InvalidArgumentError,
    );
  });

  it('takes the database from the URI, then the option, then "eventstore"', () => {
    expect(open({ connection: UNREACHABLE }).databaseName).toBe('es');
    expect(open({ connection: UNREACHABLE, database: 'other' }).databaseName).toBe('other');
    expect(open({ connection: 'mongodb://127.0.0.1:9' }).databaseName).toBe('eventstore');
    expect(open({ connection: UNREACHABLE, collection: 'orders' }).collectionName).toBe('orders');
    expect(databaseFromUri('mongodb+srv://u:p@cluster.example/shop%2D1?retryWrites=true')).toBe('shop-1');
  });

  it('refuses a non-string stream id before any request, never using it as a filter', async () => {
    const store = open({ connection: UNREACHABLE });
    const hostile = { $gt: '' } as unknown as string;
    const event: NewEvent = { type: 'Opened', data: {} };
    await expect(store.appendEvents(hostile, ExpectedVersion.Any, [event])).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(store.getEvents(hostile)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.getStreamVersion(hostile)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.getEventsByType({ $ne: null } as unknown as string)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('reports an unreachable server as EventStoreUnavailableError with the driver error as cause', async () => {
    const store = open({ connection: UNREACHABLE });
    const error = await store.appendEvents('s', ExpectedVersion.Any, [{ type: 'Opened', data: {} }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect(isEventStoreUnavailableError(error)).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect((error as Error).cause?.constructor.name).toBe('MongoServerSelectionError');
    const reading = (async () => {
      for await (const _ of store.getAllEvents()) break;
    })();
    await expect(reading).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });
});
