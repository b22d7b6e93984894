import { InvalidArgumentError, isEventSourcingError, StoreClosedError } from '@es/core';
import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import { assertDatabaseName } from './names.js';

/** How a store reaches MongoDB: your own client, or a connection string. */
export interface MongoConnectionOptions {
  /** A client you manage. The store uses it and never closes it. */
  readonly client?: MongoClient;
  /** A connection string; the store opens its own client (lazily) and closes it in `close()`. */
  readonly uri?: string;
  /** Options for the client opened from `uri`. */
  readonly clientOptions?: MongoClientOptions;
  /** Database name. Defaults to the database named in `uri`, else `"eventstore"`. */
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
 * Throws `InvalidArgumentError` for a missing or doubled source, a bad URI or a bad database name.
 */
export function openConnection(
  options: MongoConnectionOptions,
  defaultDatabase = 'eventstore',
): MongoConnection {
  if ((options.client === undefined) === (options.uri === undefined)) {
    throw new InvalidArgumentError('connection', 'pass exactly one of `client` or `uri`.');
  }
  let client = options.client;
  if (client !== undefined && typeof (client as { db?: unknown }).db !== 'function') {
    throw new InvalidArgumentError('client', 'expected a MongoClient from the "mongodb" package.');
  }
  const uri = options.uri;
  if (uri !== undefined) {
    if (typeof uri !== 'string') throw new InvalidArgumentError('uri', 'expected a connection string.');
    try {
      client = new MongoClient(uri, options.clientOptions);
    } catch (error) {
      throw new InvalidArgumentError('uri', `MongoDB cannot parse it: ${(error as Error).message}`);
    }
  }
  const database =
    // Left out means the URI's database, else the default; `null` is checked (and refused) as given.
    options.database !== undefined
      ? options.database
      : ((uri === undefined ? undefined : databaseFromUri(uri)) ?? defaultDatabase);
  assertDatabaseName(database);
  return { client: client!, db: client!.db(database), ownsClient: uri !== undefined };
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
