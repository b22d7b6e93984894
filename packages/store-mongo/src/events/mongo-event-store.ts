import {
  type AppendOptions,
  type AppendResult,
  type AppendSubscription,
  type ConditionalAppendResult,
  type DomainEvent,
  type EventQuery,
  type EventRegistry,
  type EventStore,
  type EventStoreOptions,
  type ExpectedVersionValue,
  InvalidArgumentError,
  type NewEvent,
  type Position,
  type QueryReadOptions,
  type QueryReadResult,
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
  prepareConditionalAppend,
  readAllOptions,
  readByTypeArguments,
  readQueryArguments,
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
import {
  askHello,
  assertTransactionSupport,
  type HelloReply,
  type LogReadConcern,
  logReadConcernFor,
  operationTimeOf,
} from '../connection/topology.js';
import {
  assertBooleanOption,
  assertCollectionName,
  assertIntegerOption,
  assertPartitionName,
  optionOr,
} from '../schema/names.js';
import { applyMigrations, assertMigrated, type MongoMigrationReport, reportOf } from '../schema/schema.js';
import {
  type AppendLimits,
  appendInTransaction,
  DEFAULT_APPEND_TIMEOUT_MS,
  DEFAULT_MAX_BATCH_BYTES,
  type PositionDocument,
  readHead,
} from './append.js';
import { watchAppends } from './append-notifications.js';
import { EVENT_PROJECTION, type EventDocument, fromEventDocument, RAW_READ } from './event-document.js';
import { byTypeFilter, globalLogFilter, streamFilter, TYPE_POSITION_INDEX } from './filters.js';
import { readQueryInSnapshot } from './query-read.js';

/** One indexed read of the events collection. */
interface ReadQuery {
  readonly operation: string;
  readonly filter: Document;
  readonly sort: Record<string, 1 | -1>;
  readonly limit: number | undefined;
  /** A position-ordered read of the log: it takes the log read concern. */
  readonly log?: boolean;
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
   * Defaults to `"majority"` on a replica set: a follower never handles an event that a failover
   * could roll back (and whose position a later event would then take). `"local"` reads a little
   * fresher. On a sharded cluster it defaults to, and must be, `"snapshot"` (MongoDB 5.0+): an
   * append that spans shards is only read all at once by a snapshot read; anything else is
   * refused at start with `InvalidArgumentError`.
   */
  readonly logReadConcern?: LogReadConcern;
  /**
   * The longest one append may take, retries and the commit's majority acknowledgement included,
   * in milliseconds. Defaults to 30,000. Past it the append fails with `EventStoreUnavailableError`:
   * "nothing was written" when its commit was never sent, "the outcome is unknown" when it was.
   */
  readonly appendTimeoutMs?: number;
  /**
   * The most bytes of BSON one append's events may add up to. Defaults to 16 MiB. A larger batch is
   * refused with `EventSerializationError` before anything is sent: one append is one transaction,
   * and the server keeps a transaction's writes in its cache until the commit.
   */
  readonly maxBatchBytes?: number;
  /**
   * A partition (a tenant, a region...): the store then keeps its events in
   * `"<collection>_<partition>"`, with its own position counter, so appends to different partitions
   * never contend. Positions (and the global order) are per partition. 1-64 letters, digits, `_`, `-`.
   */
  readonly partition?: string;
  /**
   * Told when the change stream behind `subscribeToAppends` fails for good or cannot be reopened
   * (it is reopened after a wait). Defaults to a `console.warn`.
   */
  readonly onNotificationError?: (error: Error) => void;
}

const MAX_APPEND_TIMEOUT_MS = 24 * 60 * 60 * 1000;
// The server's maximum message size (48 MB) bounds a batch anyway; a cap above it means nothing.
const MAX_BATCH_BYTES_LIMIT = 48_000_000;

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
    dynamicConsistencyBoundaries: true,
  };
  readonly #connection: MongoConnection;
  readonly #events: Collection<EventDocument>;
  readonly #positions: Collection<PositionDocument>;
  readonly #registry: EventRegistry<DomainEvent> | undefined;
  readonly #autoSchema: boolean;
  readonly #configuredReadConcern: LogReadConcern | undefined;
  #logReadConcern: { level: LogReadConcern } = { level: 'majority' };
  readonly #limits: AppendLimits;
  readonly #partition: string | undefined;
  readonly #onNotificationError: (error: Error) => void;
  readonly #whenReady: () => Promise<void>;
  readonly #life = new StoreLifecycle('MongoEventStore');
  readonly #subscriptions = new Set<AppendSubscription>();

  constructor(options: MongoEventStoreOptions) {
    const base = optionOr(options.collection, 'events');
    assertCollectionName(base);
    const partition = options.partition;
    if (partition !== undefined) assertPartitionName(partition);
    const collection = partition === undefined ? base : `${base}_${partition}`;
    assertCollectionName(collection, 'collection and partition');
    assertCollectionName(`${collection}_positions`);
    this.#connection = openConnection(options);
    this.#events = this.#connection.db.collection<EventDocument>(collection);
    this.#positions = this.#connection.db.collection<PositionDocument>(`${collection}_positions`);
    this.#registry = options.registry;
    const autoSchema = optionOr(options.autoMigrate, false);
    assertBooleanOption(autoSchema, 'autoMigrate');
    this.#autoSchema = autoSchema;
    const level = options.logReadConcern;
    if (level !== undefined && level !== 'majority' && level !== 'local' && level !== 'snapshot') {
      throw new InvalidArgumentError(
        'logReadConcern',
        `expected "majority", "local" or "snapshot", got ${String(level)}.`,
      );
    }
    this.#configuredReadConcern = level;
    const timeoutMs = optionOr(options.appendTimeoutMs, DEFAULT_APPEND_TIMEOUT_MS);
    assertIntegerOption(timeoutMs, 'appendTimeoutMs', 1, MAX_APPEND_TIMEOUT_MS);
    const maxBatchBytes = optionOr(options.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES);
    assertIntegerOption(maxBatchBytes, 'maxBatchBytes', 1, MAX_BATCH_BYTES_LIMIT);
    this.#limits = { timeoutMs, maxBatchBytes };
    this.#partition = partition;
    const onNotificationError = options.onNotificationError;
    if (onNotificationError !== undefined && typeof onNotificationError !== 'function') {
      throw new InvalidArgumentError('onNotificationError', 'expected a function.');
    }
    this.#onNotificationError =
      onNotificationError ?? ((error) => console.warn(`[@es/store-mongo] ${error.message}`));
    this.#whenReady = this.#life.guard(onFirstUse(() => this.#prepare()));
  }

  /** The events collection's name (`"<collection>_<partition>"` with a partition). */
  get collectionName(): string {
    return this.#events.collectionName;
  }

  /** The partition this store keeps, or `undefined` when it was given none. */
  get partition(): string | undefined {
    return this.#partition;
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
    const append = prepareAppend(streamId, expectedVersion, events, this.#registry, { acceptTags: true });
    await this.#whenReady();
    return appendInTransaction(this.#appendTarget(), append, this.#limits);
  }

  /**
   * Appends `events` with their tags, if `options.condition` holds (see `EventStore.append`): in the
   * append's transaction, after the position counter is written (so a concurrent append
   * write-conflicts with this one and one of them runs again), the events matching the condition
   * after its position are looked up; one found fails the append with
   * `AppendConditionFailedError` and nothing is written. Without `streamId` the batch goes to a
   * stream of its own, `$dcb-<its first event id>`.
   */
  async append<E extends DomainEvent = DomainEvent>(
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ): Promise<ConditionalAppendResult> {
    const append = prepareConditionalAppend(events, options, this.#registry);
    await this.#whenReady();
    const result = await appendInTransaction(this.#appendTarget(), append, this.#limits, append.condition);
    return { ...result, streamId: append.streamId };
  }

  /**
   * The events matching `query` after `options.afterPosition`, in global order, and the position the
   * read is consistent with (see `EventStore.read`): the events and the position counter are read
   * in one snapshot transaction, so the counter's value is the position (or, when `limit` cut the
   * read, the last event returned).
   */
  async read<E extends DomainEvent = DomainEvent>(
    query: EventQuery,
    options: QueryReadOptions = {},
  ): Promise<QueryReadResult<E>> {
    const request = readQueryArguments(query, options);
    await this.#whenReady();
    let found: Awaited<ReturnType<typeof readQueryInSnapshot>>;
    try {
      found = await readQueryInSnapshot(this.#appendTarget(), request);
    } catch (error) {
      if (request.signal?.aborted && error === request.signal.reason) throw error;
      throw this.#life.error(error, (cause) => wrapDriverError(cause, 'read'));
    }
    return {
      events: found.documents.map((document) =>
        decodeStoredEvent<E>(fromEventDocument(document), this.#registry),
      ),
      position: found.position,
    };
  }

  #appendTarget() {
    return { client: this.#connection.client, events: this.#events, positions: this.#positions };
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
      log: true,
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
   * The stream starts at an operation time taken before this resolves, so an append that commits
   * after it wakes the listener. A stream that fails for good is reported to `onNotificationError`
   * and reopened, and the listener is woken once when it is back. Notifications are hints: a
   * follower still reads from its checkpoint, so a lost one only delays it.
   */
  async subscribeToAppends(listener: () => void): Promise<AppendSubscription> {
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener', 'expected a function.');
    await this.#whenReady();
    try {
      const subscription = await watchAppends(
        this.#events,
        listener,
        (closed) => this.#subscriptions.delete(closed),
        {
          startAt: async () => operationTimeOf(await askHello(this.#connection.db)),
          onError: this.#onNotificationError,
        },
      );
      this.#subscriptions.add(subscription);
      return subscription;
    } catch (error) {
      throw this.#life.error(error, (cause) => wrapDriverError(cause, 'subscribeToAppends'));
    }
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
        log: true,
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
        ...(query.log ? { readConcern: this.#logReadConcern } : {}),
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
    this.#logReadConcern = { level: logReadConcernFor(hello, this.#configuredReadConcern) };
    if (this.#autoSchema) await this.migrate();
    else await assertMigrated(this.#connection.db, this.#targets(), 'MongoEventStore');
  }
}
