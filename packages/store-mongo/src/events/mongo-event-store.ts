import {
  type AppendResult,
  type AppendSubscription,
  type DomainEvent,
  type EventRegistry,
  type EventStore,
  type EventStoreOptions,
  type ExpectedVersionValue,
  InvalidArgumentError,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type ReadByTypeOptions,
  type ReadStreamOptions,
  type StoreCapabilities,
  type StoredEvent,
} from '@es/core';
import {
  assertStreamId,
  decodeStoredEvent,
  prepareAppend,
  readAllOptions,
  readByTypeArguments,
  readStreamArguments,
} from '@es/core/adapter';
import type { Collection, Document } from 'mongodb';
import {
  type MongoConnection,
  type MongoConnectionOptions,
  openConnection,
  StoreLifecycle,
} from '../connection/connection.js';
import { wrapDriverError } from '../connection/mongo-errors.js';
import { onFirstUse } from '../connection/ready.js';
import { askHello, assertTransactionSupport, type HelloReply } from '../connection/topology.js';
import { assertBooleanOption, assertCollectionName, optionOr } from '../schema/names.js';
import { applyMigrations, assertMigrated, type MongoMigrationReport, reportOf } from '../schema/schema.js';
import { appendInTransaction, type PositionDocument, readHead } from './append.js';
import { watchAppends } from './append-notifications.js';
import { EVENT_PROJECTION, type EventDocument, fromEventDocument, RAW_READ } from './event-document.js';
import { byTypeFilter, globalLogFilter, streamFilter, TYPE_POSITION_INDEX } from './filters.js';

/** One indexed read of the events collection. */
interface ReadQuery {
  readonly operation: string;
  readonly filter: Document;
  readonly sort: Record<string, 1 | -1>;
  readonly limit: number | undefined;
  readonly readConcern?: { level: 'majority' | 'local' };
  readonly hint?: string;
}

/** Options of {@link MongoEventStore}: `connection` (a MongoClient or a connection string) and more. */
export interface MongoEventStoreOptions extends EventStoreOptions, MongoConnectionOptions {
  /**
   * The events collection. Defaults to `"events"`. The global position counter lives beside it in
   * `"<collection>_positions"`.
   */
  readonly collection?: string;
  /**
   * Apply the bundled migrations (collections, indexes, the position counter) before the first
   * operation. Defaults to `false`: run `migrate()` as a deployment step; a store used before
   * that fails with `StoreNotMigratedError`.
   */
  readonly autoMigrate?: boolean;
  /**
   * Read concern of the position-ordered reads followers use (`getAllEvents`, `getEventsByType`).
   * Defaults to `"majority"`: a follower never handles an event that a failover could roll back
   * (and whose position a later event would then take). `"local"` reads a little fresher.
   */
  readonly logReadConcern?: 'majority' | 'local';
}

/**
 * The event store on MongoDB: one document per event, `_id` = global position, a unique index on
 * (streamId, version). Appends run in a multi-document transaction that checks the expected
 * version, recognises retried event ids, and takes positions from one counter document, so
 * positions are gapless and commit-ordered and a follower never skips an event. Followers can be
 * woken by `subscribeToAppends` (a change stream). Needs a replica set (a single node is enough)
 * or a sharded cluster; on a standalone server every operation fails with
 * `EventStoreUnavailableError` saying so.
 *
 * @example
 * const connection = 'mongodb://localhost:27017/shop?replicaSet=rs0';
 * await migrate({ connection });
 * const store = new MongoEventStore({ connection });
 * await store.appendEvents('order-1', ExpectedVersion.NoStream, [{ type: 'OrderPlaced', data: {} }]);
 */
export class MongoEventStore implements EventStore {
  readonly capabilities: StoreCapabilities = {
    globalOrdering: true,
    transactions: true,
    liveNotifications: true,
  };
  readonly #connection: MongoConnection;
  readonly #events: Collection<EventDocument>;
  readonly #positions: Collection<PositionDocument>;
  readonly #registry: EventRegistry<DomainEvent> | undefined;
  readonly #autoSchema: boolean;
  readonly #logReadConcern: { level: 'majority' | 'local' };
  readonly #whenReady: () => Promise<void>;
  readonly #life = new StoreLifecycle('MongoEventStore');
  readonly #subscriptions = new Set<AppendSubscription>();

  constructor(options: MongoEventStoreOptions) {
    const collection = optionOr(options.collection, 'events');
    assertCollectionName(collection);
    assertCollectionName(`${collection}_positions`);
    this.#connection = openConnection(options);
    this.#events = this.#connection.db.collection<EventDocument>(collection);
    this.#positions = this.#connection.db.collection<PositionDocument>(`${collection}_positions`);
    this.#registry = options.registry;
    const autoSchema = optionOr(options.autoMigrate, false);
    assertBooleanOption(autoSchema, 'autoMigrate');
    this.#autoSchema = autoSchema;
    const level = optionOr(options.logReadConcern, 'majority');
    if (level !== 'majority' && level !== 'local') {
      throw new InvalidArgumentError(
        'logReadConcern',
        `expected "majority" or "local", got ${String(level)}.`,
      );
    }
    this.#logReadConcern = { level };
    this.#whenReady = this.#life.guard(onFirstUse(() => this.#prepare()));
  }

  /** The events collection's name. */
  get collectionName(): string {
    return this.#events.collectionName;
  }

  /** The database's name. */
  get databaseName(): string {
    return this.#connection.db.databaseName;
  }

  /**
   * Creates this store's collections, indexes and position counter from `migrations/mongo/`,
   * recording each applied version: the package's `migrate()` for this store's collections only.
   * Idempotent and safe to run from several processes at once.
   */
  async migrate(): Promise<MongoMigrationReport> {
    this.#life.assertOpen();
    return reportOf(await applyMigrations(this.#connection.db, this.#targets()));
  }

  #targets(): { events: string; positions: string } {
    return { events: this.#events.collectionName, positions: this.#positions.collectionName };
  }

  async appendEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    expectedVersion: ExpectedVersionValue,
    events: readonly NewEvent<E>[],
  ): Promise<AppendResult> {
    const append = prepareAppend(streamId, expectedVersion, events, this.#registry);
    await this.#whenReady();
    return appendInTransaction(
      { client: this.#connection.client, events: this.#events, positions: this.#positions },
      append,
    );
  }

  async getEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    fromVersion = 0,
    options: ReadStreamOptions = {},
  ): Promise<StoredEvent<E>[]> {
    const { toVersion, limit } = readStreamArguments(streamId, fromVersion, options);
    const filter = streamFilter(streamId, fromVersion, toVersion);
    return this.#query({ operation: 'getEvents', filter, sort: { version: 1 }, limit });
  }

  async getEventsByType<E extends DomainEvent = DomainEvent>(
    eventType: E['type'] | readonly E['type'][],
    fromTimestamp?: Date,
    options: ReadByTypeOptions = {},
  ): Promise<StoredEvent<E>[]> {
    const { types, since, afterPosition, limit } = readByTypeArguments(eventType, fromTimestamp, options);
    const filter = byTypeFilter(types, since, afterPosition);
    return this.#query({
      operation: 'getEventsByType',
      filter,
      sort: { _id: 1 },
      limit,
      readConcern: this.#logReadConcern,
      hint: TYPE_POSITION_INDEX,
    });
  }

  getAllEvents<E extends DomainEvent = DomainEvent>(
    fromPosition: Position = 0n,
    options: ReadAllOptions = {},
  ): AsyncIterable<StoredEvent<E>> {
    const resolved = readAllOptions(fromPosition, options);
    return this.#readAll<E>(fromPosition, resolved);
  }

  async getStreamVersion(streamId: string): Promise<number> {
    assertStreamId(streamId);
    await this.#whenReady();
    try {
      return await readHead(this.#events, streamId);
    } catch (error) {
      throw this.#life.error(error, (cause) => wrapDriverError(cause, 'getStreamVersion'));
    }
  }

  async streamExists(streamId: string): Promise<boolean> {
    return (await this.getStreamVersion(streamId)) > 0;
  }

  /**
   * Calls `listener` soon after any process appends to this store's collection (a change stream).
   * Notifications are hints: a follower still reads from its checkpoint, so a lost one only delays it.
   */
  async subscribeToAppends(listener: () => void): Promise<AppendSubscription> {
    await this.#whenReady();
    const subscription = watchAppends(this.#events, listener, (closed) => this.#subscriptions.delete(closed));
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Ends this store's append subscriptions, and closes the client when the store opened it from
   * a connection string; a client you passed stays open. Every later call fails with `StoreClosedError`; calling
   * `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      for (const subscription of [...this.#subscriptions]) await subscription.close();
      if (this.#connection.ownsClient) await this.#connection.client.close();
    });
  }

  // Keyset pagination on _id (the position): each batch is one indexed query, so memory stays at
  // one batch and events committed while iterating are still reached.
  async *#readAll<E extends DomainEvent>(
    fromPosition: Position,
    options: ReturnType<typeof readAllOptions>,
  ): AsyncGenerator<StoredEvent<E>> {
    let cursor = fromPosition;
    for (;;) {
      options.signal?.throwIfAborted();
      const filter = globalLogFilter(cursor, options.toPosition, options.eventTypes);
      const batch = await this.#query<E>({
        operation: 'getAllEvents',
        filter,
        sort: { _id: 1 },
        limit: options.batchSize,
        readConcern: this.#logReadConcern,
        // With a type filter, the type index keeps each batch an index range, however rare the types.
        ...(options.eventTypes ? { hint: TYPE_POSITION_INDEX } : {}),
      });
      for (const event of batch) {
        cursor = event.position;
        yield event;
      }
      if (batch.length < options.batchSize) return;
    }
  }

  async #query<E extends DomainEvent>(query: ReadQuery): Promise<StoredEvent<E>[]> {
    await this.#whenReady();
    let documents: Document[];
    try {
      const cursor = this.#events.find(query.filter, {
        sort: query.sort,
        projection: EVENT_PROJECTION,
        ...(query.readConcern ? { readConcern: query.readConcern } : {}),
        ...(query.hint ? { hint: query.hint } : {}),
        ...RAW_READ,
      });
      if (query.limit !== undefined && query.limit < Number.MAX_SAFE_INTEGER) cursor.limit(query.limit);
      documents = await cursor.toArray();
    } catch (error) {
      throw this.#life.error(error, (cause) => wrapDriverError(cause, query.operation));
    }
    return documents.map((document) => decodeStoredEvent<E>(fromEventDocument(document), this.#registry));
  }

  // Run once before the first operation: the server must offer transactions; then the schema is
  // applied (autoMigrate) or checked.
  async #prepare(): Promise<void> {
    let hello: HelloReply;
    try {
      hello = await askHello(this.#connection.db);
    } catch (error) {
      throw wrapDriverError(error, 'connect');
    }
    assertTransactionSupport(hello);
    if (this.#autoSchema) await this.migrate();
    else await assertMigrated(this.#connection.db, this.#targets(), 'MongoEventStore');
  }
}
