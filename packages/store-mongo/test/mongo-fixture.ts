import { randomUUID } from 'node:crypto';
import { afterAll } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { databaseFromUri } from '../src/connection/connection.js';
import { MIGRATIONS_COLLECTION } from '../src/schema/schema.js';

/** What the server suites share: one client per test file, a database, fresh collection names. */
export interface MongoFixture {
  readonly url: string;
  readonly client: () => MongoClient;
  readonly database: string;
  /** A collection name no other test (or package, or run) uses. */
  readonly unique: (prefix: string) => string;
  /** Drops the collections and their migration records. */
  readonly drop: (...collections: string[]) => Promise<void>;
}

/** Call inside a describe block: the client is closed after the block. */
export function mongoFixture(url: string): MongoFixture {
  let client: MongoClient | undefined;
  const database = databaseFromUri(url) ?? 'es_store_mongo_test';
  const connect = () => {
    client ??= new MongoClient(url);
    return client;
  };
  afterAll(async () => {
    await client?.close();
  });
  return {
    url,
    client: connect,
    database,
    unique: (prefix) => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`,
    drop: async (...collections) => {
      const db = connect().db(database);
      for (const name of collections)
        await db
          .collection(name)
          .drop()
          .catch(() => false);
      await db.collection(MIGRATIONS_COLLECTION).deleteMany({ collection: { $in: collections } });
    },
  };
}
