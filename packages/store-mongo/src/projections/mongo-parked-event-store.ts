import type { ParkedEvent, ParkedEventStore, ParkedRetryRequests, Position } from '@es/core';
import { assertPosition, assertStreamId } from '@es/core/adapter';
import type { ClientSession, Collection, Filter, Int32, Long, Sort } from 'mongodb';
import { isDuplicateKeyError } from '../connection/mongo-errors.js';
import { SideCollection, type SideCollectionOptions } from '../connection/side-collection.js';
import {
  readDate,
  readPosition,
  readSafeInteger,
  readString,
  toBsonInteger,
  toBsonPosition,
} from '../events/bson-values.js';
import { RAW_READ } from '../events/event-document.js';
import type { MongoMigrationReport } from '../schema/schema.js';

/** How a parked event is stored: one document per (subscription, position), unique. */
export interface ParkedEventDocument {
  subscriptionId: string;
  position: Long;
  eventId: string;
  streamId: string;
  eventType: string;
  error: string;
  attempts: Int32 | Long;
  parkedAt: Date;
  /** Set by `requestRetry`, unset when that retry failed (see `ParkedRetryRequests`). */
  retryRequestedAt?: Date;
}

/** Options of {@link MongoParkedEventStore}: `connection` (a MongoClient or a connection string) and more. */
export interface MongoParkedEventStoreOptions extends SideCollectionOptions {
  /** The parked events collection. Defaults to `"parked_events"`. */
  readonly collection?: string;
  /**
   * Apply the bundled migrations before the first operation. Defaults to `false`: run `migrate()`
   * as a deployment step; a store used before that fails with `StoreNotMigratedError`.
   */
  readonly autoMigrate?: boolean;
}

/** Checks a parked event before anything is sent; throws `InvalidArgumentError`. */
export function assertParkedEvent(event: ParkedEvent): void {
  assertStreamId(event.subscriptionId, 'subscription id');
  assertPosition(event.position);
}

/**
 * Parks `event` unless the subscription already parked one at its position (the first record
 * stays). An upsert with `$setOnInsert`, not an insert: inside a transaction a duplicate-key error
 * would abort the whole transaction, and an upsert that finds the document changes nothing.
 */
export async function parkEvent(
  parked: Collection<ParkedEventDocument>,
  event: ParkedEvent,
  session?: ClientSession,
): Promise<void> {
  const position = toBsonPosition(event.position);
  await parked.updateOne(
    { subscriptionId: { $eq: event.subscriptionId }, position: { $eq: position } },
    {
      // subscriptionId and position come from the filter's equalities when the document is created.
      $setOnInsert: {
        eventId: event.eventId,
        streamId: event.streamId,
        eventType: event.eventType,
        error: event.error,
        attempts: toBsonInteger(event.attempts),
        parkedAt: event.parkedAt,
      },
    },
    { upsert: true, ...(session ? { session } : {}) },
  );
}

/** The subscription's parked events, in position order. */
export function listParkedEvents(
  parked: Collection<ParkedEventDocument>,
  subscriptionId: string,
): Promise<ParkedEvent[]> {
  return findParkedEvents(parked, { subscriptionId: { $eq: subscriptionId } }, { position: 1 });
}

/** The parked events of `subscriptionIds` marked for a retry, in position order. */
export function listRetryRequestedEvents(
  parked: Collection<ParkedEventDocument>,
  subscriptionIds: readonly string[],
): Promise<ParkedEvent[]> {
  // Few documents are marked: sorted in memory after the (subscriptionId, position) index found them.
  return findParkedEvents(
    parked,
    { subscriptionId: { $in: [...subscriptionIds] }, retryRequestedAt: { $exists: true } },
    { position: 1, subscriptionId: 1 },
  );
}

async function findParkedEvents(
  parked: Collection<ParkedEventDocument>,
  filter: Filter<ParkedEventDocument>,
  sort: Sort,
): Promise<ParkedEvent[]> {
  const documents = await parked.find(filter, { sort, ...RAW_READ }).toArray();
  return documents.map((document) => {
    const event: ParkedEvent = {
      subscriptionId: readString(document.subscriptionId, 'subscriptionId'),
      position: readPosition(document.position, 'position'),
      eventId: readString(document.eventId, 'eventId'),
      streamId: readString(document.streamId, 'streamId'),
      eventType: readString(document.eventType, 'eventType'),
      error: readString(document.error, 'error'),
      attempts: readSafeInteger(document.attempts, 'attempts'),
      parkedAt: readDate(document.parkedAt, 'parkedAt'),
    };
    return document.retryRequestedAt === undefined || document.retryRequestedAt === null
      ? event
      : { ...event, retryRequestedAt: readDate(document.retryRequestedAt, 'retryRequestedAt') };
  });
}

/** Marks a parked event for a retry (keeping the first mark's time); false when it is not parked. */
export async function markParkedForRetry(
  parked: Collection<ParkedEventDocument>,
  subscriptionId: string,
  position: Position,
): Promise<boolean> {
  const filter = { subscriptionId: { $eq: subscriptionId }, position: { $eq: toBsonPosition(position) } };
  const marked = await parked.updateOne(
    { ...filter, retryRequestedAt: { $exists: false } },
    { $set: { retryRequestedAt: new Date() } },
  );
  if (marked.matchedCount > 0) return true;
  return (await parked.countDocuments(filter, { limit: 1 })) > 0;
}

/** A requested retry failed: one more attempt, the new error, and no mark. */
export async function recordParkedRetryFailure(
  parked: Collection<ParkedEventDocument>,
  subscriptionId: string,
  position: Position,
  error: string,
): Promise<void> {
  await parked.updateOne(
    { subscriptionId: { $eq: subscriptionId }, position: { $eq: toBsonPosition(position) } },
    { $inc: { attempts: toBsonInteger(1) }, $set: { error }, $unset: { retryRequestedAt: '' } },
  );
}

/** Forgets one parked event; nothing happens when it is not there. */
export async function removeParkedEvent(
  parked: Collection<ParkedEventDocument>,
  subscriptionId: string,
  position: Position,
  session?: ClientSession,
): Promise<void> {
  await parked.deleteOne(
    { subscriptionId: { $eq: subscriptionId }, position: { $eq: toBsonPosition(position) } },
    session ? { session } : {},
  );
}

/**
 * Events a projection's handler kept failing on, in a MongoDB collection: one document per
 * (subscription, position) under a unique index, so parking an event again (a batch handled again
 * after a crash) keeps the first record. The same collection `MongoProjectionStore` parks into in
 * its batch transaction; this store is for `checkpointProjectionStore` (at-least-once) and tools.
 *
 * @example
 * const parked = new MongoParkedEventStore({ connection: client, database: 'shop' });
 * for (const event of await parked.list('balances')) console.log(event.position, event.error);
 */
export class MongoParkedEventStore implements ParkedEventStore, ParkedRetryRequests {
  readonly #side: SideCollection<ParkedEventDocument>;
  readonly #parked: Collection<ParkedEventDocument>;

  constructor(options: MongoParkedEventStoreOptions) {
    this.#side = new SideCollection(options, 'parked', 'parked_events', 'MongoParkedEventStore');
    this.#parked = this.#side.collection;
  }

  /** The parked events collection's name. */
  get collectionName(): string {
    return this.#parked.collectionName;
  }

  /** Creates the parked events collection and its unique index (the package's `migrate()` for it only). Idempotent. */
  migrate(): Promise<MongoMigrationReport> {
    return this.#side.migrate();
  }

  async park(event: ParkedEvent): Promise<void> {
    assertParkedEvent(event);
    // Two first parks of one event may race outside a transaction; the loser's retry finds the first.
    const park = () => parkEvent(this.#parked, event);
    await this.#side.run(`park an event of "${event.subscriptionId}"`, () =>
      park().catch((error: unknown) => (isDuplicateKeyError(error) ? park() : Promise.reject(error))),
    );
  }

  async list(subscriptionId: string): Promise<ParkedEvent[]> {
    assertStreamId(subscriptionId, 'subscription id');
    return this.#side.run(`list the parked events of "${subscriptionId}"`, () =>
      listParkedEvents(this.#parked, subscriptionId),
    );
  }

  async remove(subscriptionId: string, position: Position): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    await this.#side.run(`remove a parked event of "${subscriptionId}"`, () =>
      removeParkedEvent(this.#parked, subscriptionId, position),
    );
  }

  async requestRetry(subscriptionId: string, position: Position): Promise<boolean> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    return this.#side.run(`request a retry of a parked event of "${subscriptionId}"`, () =>
      markParkedForRetry(this.#parked, subscriptionId, position),
    );
  }

  async listRetryRequests(subscriptionIds: readonly string[]): Promise<ParkedEvent[]> {
    for (const id of subscriptionIds) assertStreamId(id, 'subscription id');
    return this.#side.run('list the parked events marked for a retry', () =>
      listRetryRequestedEvents(this.#parked, subscriptionIds),
    );
  }

  async recordRetryFailure(subscriptionId: string, position: Position, error: string): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    await this.#side.run(`record a failed retry of a parked event of "${subscriptionId}"`, () =>
      recordParkedRetryFailure(this.#parked, subscriptionId, position, error),
    );
  }

  /**
   * Closes the client when the store opened it from a connection string. Every later call fails with
   * `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#side.close();
  }
}
