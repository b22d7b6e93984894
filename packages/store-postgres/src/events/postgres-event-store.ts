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
  isEventSourcingError,
  type NewEvent,
  type Position,
  type QueryReadOptions,
  type QueryReadResult,
  type ReadAllOptions,
  type ReadByTypeOptions,
  type ReadStreamOptions,
  type StoreCapabilities,
  StoreClosedError,
  type StoredEvent,
} from '@es/core';
import {
  assertStreamId,
  prepareAppend,
  prepareConditionalAppend,
  readAllOptions,
  readByTypeArguments,
  readQueryArguments,
  readStreamArguments,
} from '@es/core/adapter';
import {
  assertOptionsObject,
  createSqlExecutor,
  isSqlExecutor,
  type PostgresConnection,
  type PostgresConnectionOptions,
  type StoreExecutor,
  storeExecutor,
} from '../connection/connection.js';
import { wrapDriverError } from '../connection/driver-errors.js';
import { createPgExecutor, type PgPoolLike } from '../connection/pg-executor.js';
import { isPGliteLike } from '../connection/pglite-executor.js';
import type { SqlExecutor, StopListening } from '../connection/sql-executor.js';
import { optionOr, type StoreNames, storeNames } from '../schema/identifiers.js';
import { type MigrateResult, migrate } from '../schema/migrate.js';
import { appendPrepared, streamVersion } from './append.js';
import { AppendAnnouncer } from './append-announcer.js';
import { AppendCoalescer, type CoalesceOptions, coalesceSettings } from './coalescer.js';
import { appendConditional } from './conditional-append.js';
import { EVENT_COLUMNS, type EventRow, eventDecoder, STREAM_EVENT_COLUMNS } from './event-rows.js';
import { INT32_MAX, notificationChannel, visibleBoundSql } from './position.js';
import { readByQuery } from './query-read.js';
import { readAllBatches } from './read-all.js';

/** Options of {@link PostgresEventStore}. */
export interface PostgresEventStoreOptions extends EventStoreOptions, PostgresConnectionOptions {
  /**
   * A connection string (the store opens a `pg.Pool` and closes it in `close()`), a `pg.Pool`, a
   * PGlite instance, or an executor from `createSqlExecutor`. One you pass stays yours: `close()`
   * leaves it open.
   */
  readonly connection: PostgresConnection;
  /** Schema of the event table, validated as an identifier. Defaults to `"public"`. */
  readonly schema?: string;
  /** Name of the event table, validated as an identifier. Defaults to `"events"`. */
  readonly table?: string;
  /**
   * Send a NOTIFY after appends commit, so `subscribeToAppends` wakes followers in any process.
   * Notifications are coalesced (at most one in flight per store) and sent after the commit, so
   * they do not serialise appends. Defaults to `true`.
   *
   * Behind a connection pooler in transaction mode (PgBouncer), NOTIFY still works but LISTEN does
   * not: give a `listenConnection`, or set `notify: false` so followers of this store poll
   * (`capabilities.liveNotifications` is then false).
   */
  readonly notify?: boolean;
  /**
   * A direct connection to the server (not through a pooler), used only to LISTEN for appends in
   * `subscribeToAppends`: a connection string (the store opens a pool for it and closes it in
   * `close()`) or a `pg.Pool` you own. Each subscription holds one of its connections. Defaults to
   * `connection`, which is right unless `connection` goes through a pooler in transaction mode,
   * where a LISTEN is lost when the pooler hands its server connection to another client.
   */
  readonly listenConnection?: string | PgPoolLike;
  /**
   * Write coalescing: concurrent `appendEvents` calls of this store are gathered and written in one
   * round trip and one transaction (migration 008's batch function), each append still checked on
   * its own (a conflict, a recognised retry or a refused input answers only that append; appends
   * to one stream are applied in call order), and each caller answered after the commit. `true`
   * for the defaults, or {@link CoalesceOptions}. Defaults to `false` (one transaction per append).
   * Conditional appends (`append` with a condition) are not coalesced. See the README, "Write
   * coalescing".
   */
  readonly coalesce?: boolean | CoalesceOptions;
}

/**
 * The event store on PostgreSQL 13+ (a server through `pg`, or embedded PGlite), with the same SQL
 * on both. Appends are one round trip to a database function that enforces the expected version
 * under a per-stream lock; the global log is ordered by transaction id, so a follower never skips
 * an event (see the README, "The global log"). Run {@link migrate} (or `store.migrate()`) first.
 *
 * @example
 * const store = new PostgresEventStore({ connection: process.env.DATABASE_URL!, schema: 'billing' });
 * await store.migrate();
 * await store.appendEvents('account-1', ExpectedVersion.NoStream, [{ type: 'Opened', data: {} }]);
 */
export class PostgresEventStore implements EventStore {
  readonly capabilities: StoreCapabilities;
  readonly #executor: StoreExecutor;
  readonly #names: StoreNames;
  readonly #registry: EventRegistry<DomainEvent> | undefined;
  readonly #announcer: AppendAnnouncer | undefined;
  readonly #coalescer: AppendCoalescer | undefined;
  readonly #subscriptions = new Set<StopListening>();

  constructor(options: PostgresEventStoreOptions) {
    assertOptionsObject(
      options,
      '{ connection, schema?, table?, notify?, listenConnection?, preparedStatements?, registry?, coalesce? }',
    );
    // Names are checked before the connection is touched: a hostile name never reaches SQL.
    this.#names = storeNames(optionOr(options.schema, 'public'), optionOr(options.table, 'events'));
    const notify = options.notify === undefined ? true : options.notify;
    if (typeof notify !== 'boolean') {
      throw new InvalidArgumentError(
        'notify',
        'expected true or false; leave it out for the default (true).',
      );
    }
    const coalesce = coalesceSettings(options.coalesce);
    const listener = listenExecutor(options);
    const pooled = createSqlExecutor(options.connection, options);
    // Subscriptions LISTEN on the direct connection when there is one; everything else is pooled.
    const connection: SqlExecutor = listener ? { ...pooled, listen: listener.executor.listen } : pooled;
    const owns = !isSqlExecutor(options.connection);
    // Closing first refuses new calls, then lets the last notification out and stops the
    // subscriptions, then releases the pools.
    this.#executor = storeExecutor(connection, 'PostgresEventStore', owns, async () => {
      await this.#release();
      if (listener?.owned) await listener.executor.close();
    });
    this.#registry = options.registry;
    // On the unguarded connection: close() lets queued appends finish (in #release) before the
    // pool closes, rather than failing them.
    this.#coalescer = coalesce ? new AppendCoalescer(connection, this.#names, coalesce) : undefined;
    this.#announcer = notify
      ? new AppendAnnouncer(connection, notificationChannel(this.#names.schema, this.#names.table))
      : undefined;
    this.capabilities = {
      globalOrdering: true,
      transactions: true,
      liveNotifications: notify,
      dynamicConsistencyBoundaries: true,
    };
  }

  /** The schema and table this store reads and writes. */
  get names(): StoreNames {
    return this.#names;
  }

  /** Applies the package's migrations to this store's schema and table (see {@link migrate}). */
  migrate(): Promise<MigrateResult> {
    return migrate({ connection: this.#executor, schema: this.#names.schema, table: this.#names.table });
  }

  async appendEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    expectedVersion: ExpectedVersionValue,
    events: readonly NewEvent<E>[],
  ): Promise<AppendResult> {
    const append = prepareAppend(streamId, expectedVersion, events, this.#registry, { acceptTags: true });
    let result: AppendResult;
    try {
      if (this.#coalescer) {
        if (this.#executor.closed) throw new StoreClosedError('PostgresEventStore');
        result = await this.#coalescer.append(append);
      } else {
        result = await appendPrepared(this.#executor, this.#names, append);
      }
    } catch (error) {
      // Inline rather than #guard: appends are the hottest call, and each async layer costs.
      if (isEventSourcingError(error)) throw error;
      throw wrapDriverError(error, `append to stream "${streamId}"`, { append: true });
    }
    this.#announcer?.announce();
    return result;
  }

  /**
   * Appends `events` with their tags if `options.condition` holds (see `EventStore.append`), in
   * one round trip: migration 007's function takes the append's advisory locks in key order, then
   * checks a retry, the expected version and the condition, and inserts (docs/dcb.md).
   */
  async append<E extends DomainEvent = DomainEvent>(
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ): Promise<ConditionalAppendResult> {
    const append = prepareConditionalAppend(events, options, this.#registry);
    let result: AppendResult;
    try {
      result = await appendConditional(this.#executor, this.#names, append);
    } catch (error) {
      if (isEventSourcingError(error)) throw error;
      throw wrapDriverError(error, `append to stream "${append.streamId}"`, { append: true });
    }
    this.#announcer?.announce();
    return { ...result, streamId: append.streamId };
  }

  /**
   * The events matching `query` after `options.afterPosition`, in global order, and the position
   * the read is consistent with: the head of the visible log, or the last event when `limit` cut
   * the read (see `EventStore.read`).
   */
  async read<E extends DomainEvent = DomainEvent>(
    query: EventQuery,
    options: QueryReadOptions = {},
  ): Promise<QueryReadResult<E>> {
    const { query: prepared, afterPosition, limit } = readQueryArguments(query, options);
    return this.#guard('read events by query', () =>
      readByQuery<E>(this.#executor, this.#names, prepared, afterPosition, limit, this.#registry),
    );
  }

  async getEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    fromVersion = 0,
    options: ReadStreamOptions = {},
  ): Promise<StoredEvent<E>[]> {
    const { toVersion, limit } = readStreamArguments(streamId, fromVersion, options);
    const rows = await this.#guard(`read stream "${streamId}"`, () =>
      this.#executor.query<EventRow>({
        rowMode: 'array',
        name: `es-stream:${this.#names.qualifiedTable}`,
        text: `SELECT ${STREAM_EVENT_COLUMNS} FROM ${this.#names.qualifiedTable}
               WHERE stream_id = $1 AND version > $2 AND version <= $3 ORDER BY version LIMIT $4`,
        // Versions are `integer`: a bound past the largest one matches what that largest one matches.
        values: [
          streamId,
          Math.min(fromVersion, INT32_MAX),
          Math.min(toVersion ?? INT32_MAX, INT32_MAX),
          limit ?? null,
        ],
      }),
    );
    return rows.map(eventDecoder<E>(this.#registry, streamId));
  }

  async getEventsByType<E extends DomainEvent = DomainEvent>(
    eventType: E['type'] | readonly E['type'][],
    fromTimestamp?: Date,
    options: ReadByTypeOptions = {},
  ): Promise<StoredEvent<E>[]> {
    const { types, since, afterPosition, limit } = readByTypeArguments(eventType, fromTimestamp, options);
    const table = this.#names.qualifiedTable;
    const wanted = [...types];
    // Each type is its own ordered range of the (type, position) index, stopped by the limit, so
    // the cost follows what is returned, not the table's size. Each type is a parameter of its own
    // (`type = $5`), not a value unnested from an array inside the statement: in an unnamed
    // statement the planner then sees the actual type and its statistics, and takes the
    // (type, position) index for a rare one; given a type it cannot see, it guessed one row in
    // (number of types) and walked the primary key past every event of the other types.
    const branch = (index: number) =>
      `(SELECT ${EVENT_COLUMNS} FROM ${table}
        WHERE type = $${index + 4} AND created_at >= $1 AND position > $2 ORDER BY position LIMIT $3)`;
    const rows = await this.#guard('read events by type', () =>
      this.#executor.query<EventRow>({
        rowMode: 'array',
        // Unnamed on purpose: a cached generic plan cannot know how rare a type is (see
        // docs/query-plans.md); every call is planned with its values.
        text: `SELECT ${EVENT_COLUMNS} FROM (
                 SELECT * FROM (${wanted.map((_, index) => branch(index)).join(' UNION ALL ')}) ranges
                 ORDER BY position LIMIT $3) page
               WHERE position < ${visibleBoundSql(this.#names)} ORDER BY position`,
        values: [since, afterPosition.toString(), limit >= Number.MAX_SAFE_INTEGER ? null : limit, ...wanted],
      }),
    );
    return rows.map(eventDecoder<E>(this.#registry));
  }

  getAllEvents<E extends DomainEvent = DomainEvent>(
    fromPosition: Position = 0n,
    options: ReadAllOptions = {},
  ): AsyncIterable<StoredEvent<E>> {
    const plan = readAllOptions(fromPosition, options);
    return readAllBatches<E>(this.#executor, this.#names, plan, fromPosition, this.#registry, (error) =>
      isEventSourcingError(error) ? error : wrapDriverError(error, 'read the global log'),
    );
  }

  async getStreamVersion(streamId: string): Promise<number> {
    assertStreamId(streamId);
    return this.#guard(`read the version of stream "${streamId}"`, () =>
      streamVersion(this.#executor, this.#names, streamId),
    );
  }

  async streamExists(streamId: string): Promise<boolean> {
    return (await this.getStreamVersion(streamId)) > 0;
  }

  /**
   * Calls `listener` after each committed append, from any process writing to this table
   * (PostgreSQL LISTEN/NOTIFY). On a server this holds one connection of the pool (or of
   * `listenConnection`) while subscribed. Notifications are hints: a follower reads from its checkpoint when woken, and
   * should also poll now and then, since a notification can be lost with its connection.
   */
  async subscribeToAppends(listener: () => void): Promise<AppendSubscription> {
    const channel = notificationChannel(this.#names.schema, this.#names.table);
    const stop = await this.#guard('listen for appends', () => this.#executor.listen(channel, listener));
    this.#subscriptions.add(stop);
    return {
      close: async () => {
        if (this.#subscriptions.delete(stop)) await stop();
      },
    };
  }

  /**
   * Stops this store's subscriptions and closes the pool it opened from a connection string. Every
   * later call fails with `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#executor.close();
  }

  async #release(): Promise<void> {
    await this.#coalescer?.drained();
    const stops = [...this.#subscriptions];
    this.#subscriptions.clear();
    await Promise.allSettled(stops.map((stop) => stop()));
    await this.#announcer?.settled();
  }

  async #guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isEventSourcingError(error)) throw error;
      throw wrapDriverError(error, operation);
    }
  }
}

/** The executor of `listenConnection`, if given, and whether the store made it (and so closes it). */
function listenExecutor(
  options: PostgresEventStoreOptions,
): { executor: SqlExecutor; owned: boolean } | undefined {
  const { listenConnection } = options;
  if (listenConnection === undefined) return undefined;
  if (isPGliteLike(options.connection)) {
    throw new InvalidArgumentError(
      'listenConnection',
      'PGlite is one embedded session with no pooler in front of it: leave listenConnection out.',
    );
  }
  const isPool =
    typeof listenConnection === 'object' &&
    listenConnection !== null &&
    typeof (listenConnection as PgPoolLike).connect === 'function' &&
    typeof (listenConnection as PgPoolLike).query === 'function' &&
    !isSqlExecutor(listenConnection) &&
    !isPGliteLike(listenConnection);
  if (!(typeof listenConnection === 'string' && listenConnection.length > 0) && !isPool) {
    throw new InvalidArgumentError(
      'listenConnection',
      'expected a connection string or a pg.Pool that reaches the server directly (not through a pooler).',
    );
  }
  return { executor: createPgExecutor(listenConnection), owned: typeof listenConnection === 'string' };
}
