import { InvalidArgumentError, isEventSourcingError, StoreClosedError } from '@es/core';
import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import { assertDatabaseName } from '../schema/names.js';

/** A MongoClient you manage, or a connection string the store opens its own client from. */
export type MongoConnectionSource = MongoClient | string;

/** How a store (or {@link migrate}) reaches MongoDB: the same words as the PostgreSQL stores. */
export interface MongoConnectionOptions {
  /**
   * A `MongoClient` you manage (the store uses it and never closes it), or a connection string
   * (the store opens its own client, lazily, and closes it in `close()`).
   */
  readonly connection: MongoConnectionSource;
  /** Options for the client opened from a connection string. Refused with a `MongoClient`. */
  readonly clientOptions?: MongoClientOptions;
  /** Database name. Defaults to the database named in the connection string, else `"eventstore"`. */
  readonly database?: string;
}

/** A resolved connection: the client, the database, and whether the store owns the client. */
export interface MongoConnection {
  readonly client: MongoClient;
  readonly db: Db;
  readonly ownsClient: boolean;
}

/** The database of a connection string's path (`mongodb://host/<db>?...`), if it names one. */
export function databaseFromUri(uri: string): string | undefined {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(uri)?.[1];
  return path ? decodeURIComponent(path) : undefined;
}

/**
 * Validates the options and creates (without connecting) the client and database handle.
 * Throws `InvalidArgumentError` for a missing or wrong `connection`, a bad URL or a bad database name.
 */
export function openConnection(
  options: MongoConnectionOptions,
  defaultDatabase = 'eventstore',
): MongoConnection {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'expected an options object with `connection`.');
  }
  const source: unknown = options.connection;
  let client: MongoClient;
  let uri: string | undefined;
  if (typeof source === 'string') {
    uri = source;
    try {
      client = new MongoClient(uri, options.clientOptions);
    } catch (error) {
      throw new InvalidArgumentError('connection', `MongoDB cannot parse it: ${(error as Error).message}`);
    }
  } else if (
    typeof source === 'object' &&
    source !== null &&
    typeof (source as { db?: unknown }).db === 'function'
  ) {
    if (options.clientOptions !== undefined) {
      throw new InvalidArgumentError(
        'clientOptions',
        'only for a connection string; configure the MongoClient you pass yourself.',
      );
    }
    client = source as MongoClient;
  } else {
    throw new InvalidArgumentError(
      'connection',
      'expected a MongoClient from the "mongodb" package or a connection string.',
    );
  }
  const database =
    // Left out means the URL's database, else the default; `null` is checked (and refused) as given.
    options.database !== undefined
      ? options.database
      : ((uri === undefined ? undefined : databaseFromUri(uri)) ?? defaultDatabase);
  assertDatabaseName(database);
  return { client, db: client.db(database), ownsClient: uri !== undefined };
}

/**
 * Whether a store was closed. After `close()` every call of the store fails with
 * `StoreClosedError` (so does a call the close cut short), and a second `close()` does nothing.
 */
export class StoreLifecycle {
  readonly #store: string;
  #closing: Promise<void> | undefined;

  constructor(store: string) {
    this.#store = store;
  }

  /** Throws `StoreClosedError` once `close()` was called. */
  assertOpen(): void {
    if (this.#closing) throw new StoreClosedError(this.#store);
  }

  /** `ready` preceded by the open check: what every operation of the store awaits first. */
  guard(ready: () => Promise<void>): () => Promise<void> {
    return async () => {
      this.assertOpen();
      await ready();
    };
  }

  /** The error for a failed driver call: `StoreClosedError` when the store was closed meanwhile. */
  error(error: unknown, wrap: (error: unknown) => Error): Error {
    if (this.#closing && !isEventSourcingError(error))
      return new StoreClosedError(this.#store, { cause: error });
    return wrap(error);
  }

  /** Runs `release` on the first call only; later calls return the same promise. */
  close(release: () => Promise<void>): Promise<void> {
    this.#closing ??= release();
    return this.#closing;
  }
}
