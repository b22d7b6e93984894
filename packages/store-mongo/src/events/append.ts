import {
  type AppendResult,
  ConcurrencyConflictError,
  EventStoreUnavailableError,
  expectedVersionMismatch,
  isEventSourcingError,
} from '@es/core';
import { type PreparedAppend, resolveRetriedAppend, type StoredEventLocation } from '@es/core/adapter';
import {
  type ClientSession,
  type Collection,
  Long,
  type MongoClient,
  type TransactionOptions,
} from 'mongodb';
import {
  conflictFromDuplicateKey,
  duplicateKeyCollection,
  duplicateKeyIndex,
  isDuplicateKeyError,
  wrapDriverError,
} from '../connection/mongo-errors.js';
import { readDate, readPosition, readSafeInteger, readString } from './bson-values.js';
import {
  assertEventsFit,
  type EncodedEvent,
  type EventDocument,
  encodeEvents,
  placeEvents,
  RAW_READ,
} from './event-document.js';
import { eventIdsAnywhereFilter, wholeStreamFilter } from './filters.js';

/** The counter document in the positions collection. */
export interface PositionDocument {
  _id: string;
  /** The last allocated position. */
  value: Long;
  /** Server time of the last allocation: the commit timestamp of that batch. */
  at?: Date;
}

/** The `_id` of the global position counter. */
export const POSITION_COUNTER_ID = 'position';

/** What an append needs from the store. */
export interface AppendTarget {
  readonly client: MongoClient;
  readonly events: Collection<EventDocument>;
  readonly positions: Collection<PositionDocument>;
}

/**
 * Snapshot reads, majority writes, on the primary. Every append updates the one counter document,
 * so two overlapping appends always write-conflict: the loser is retried by the driver (with
 * backoff) on a fresh snapshot, which makes allocation serial and positions commit-ordered.
 */
export const APPEND_TRANSACTION: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

// A duplicate key means a concurrent writer committed first; one more attempt on a fresh snapshot
// turns it into the ordinary answer (the original result of a retry, or a conflict with the version).
const DUPLICATE_KEY_ATTEMPTS = 3;

/** Appends a prepared batch in one transaction; see {@link APPEND_TRANSACTION}. */
export async function appendInTransaction(
  target: AppendTarget,
  append: PreparedAppend,
): Promise<AppendResult> {
  // Encoded once, and refused before any request when a document could not fit.
  const encoded = encodeEvents(append.events);
  assertEventsFit(encoded, append.streamId);
  for (let attempt = 1; ; attempt++) {
    const session = target.client.startSession();
    try {
      return await session.withTransaction((s) => appendOnce(target, append, encoded, s), APPEND_TRANSACTION);
    } catch (error) {
      if (isEventSourcingError(error)) throw error;
      if (!isDuplicateKeyError(error)) throw wrapDriverError(error, `append to stream "${append.streamId}"`);
      // On the counter's collection: two first upserts of the counter document raced; the next
      // attempt finds it. Never a stream conflict, never "the counter is behind".
      const onCounter = duplicateKeyCollection(error) === target.positions.collectionName;
      if (onCounter) {
        if (attempt >= DUPLICATE_KEY_ATTEMPTS) throw wrapDriverError(error, 'position counter update');
        continue;
      }
      if (duplicateKeyIndex(error) === '_id_') throw counterBehind(target, error);
      if (attempt >= DUPLICATE_KEY_ATTEMPTS) {
        const actual = await readHead(target.events, append.streamId).catch(() => undefined);
        if (actual === undefined) throw wrapDriverError(error, `append to stream "${append.streamId}"`);
        throw conflictFromDuplicateKey(error, append.streamId, append.expectedVersion, actual);
      }
    } finally {
      await session.endSession().catch(() => undefined);
    }
  }
}

// A position already taken means the counter is behind the log (events inserted around this store,
// or the counter document edited): no retry can fix that, and it is not a concurrency conflict.
function counterBehind(target: AppendTarget, cause: unknown): EventStoreUnavailableError {
  return new EventStoreUnavailableError(
    `The position counter in "${target.positions.collectionName}" is behind the events in ` +
      `"${target.events.collectionName}": a new event got a position that is already stored. ` +
      'Set the counter document\'s "value" to the highest stored _id, then retry.',
    { cause },
  );
}

/** The stream's version: that of its last event, 0 when it has none. */
export async function readHead(
  events: Collection<EventDocument>,
  streamId: string,
  session?: ClientSession,
): Promise<number> {
  const head = await events.findOne(wholeStreamFilter(streamId), {
    sort: { version: -1 },
    projection: { version: 1 },
    ...(session ? { session } : {}),
    ...RAW_READ,
  });
  return head ? readSafeInteger(head.version, 'version') : 0;
}

async function appendOnce(
  target: AppendTarget,
  append: PreparedAppend,
  encoded: readonly EncodedEvent[],
  session: ClientSession,
): Promise<AppendResult> {
  const { streamId, expectedVersion, events } = append;
  const actualVersion = await readHead(target.events, streamId, session);
  if (append.mayBeRetry) {
    const found = await findStoredCopies(target.events, append, session);
    // Caller-chosen ids are unique across the store, as every store keeps them. Race-free: two
    // appends that could both store an id both update the position counter, so they serialise.
    const elsewhere = found.find((copy) => copy.streamId !== streamId);
    if (elsewhere) {
      throw new ConcurrencyConflictError(
        streamId,
        expectedVersion,
        actualVersion,
        `event id ${elsewhere.eventId} is already stored in another stream; event ids chosen by callers are unique across the store`,
      );
    }
    const original = resolveRetriedAppend(append, found, actualVersion);
    if (original) return original;
  }
  const mismatch = expectedVersionMismatch(expectedVersion, actualVersion);
  if (mismatch) throw new ConcurrencyConflictError(streamId, expectedVersion, actualVersion, mismatch);

  const { last, at } = await allocatePositions(target.positions, events.length, session);
  const documents = placeEvents(encoded, {
    streamId,
    versionBefore: actualVersion,
    firstPosition: last - BigInt(events.length) + 1n,
    timestamp: at,
    idSupplied: append.mayBeRetry,
  });
  // ignoreUndefined: a property set to `undefined` is left out, as JSON leaves it out.
  await target.events.insertMany(documents, { session, ordered: true, ignoreUndefined: true });
  return { nextVersion: actualVersion + events.length, lastPosition: last };
}

/** The stored copies of the batch's event ids, in this stream or any other. */
async function findStoredCopies(
  events: Collection<EventDocument>,
  append: PreparedAppend,
  session: ClientSession,
): Promise<(StoredEventLocation & { readonly streamId: string })[]> {
  const ids = append.events.map((event) => event.eventId);
  const found = await events
    .find(eventIdsAnywhereFilter(ids), {
      session,
      projection: { _id: 1, streamId: 1, eventId: 1, version: 1 },
      ...RAW_READ,
    })
    .toArray();
  return found.map((document) => ({
    streamId: readString(document.streamId, 'streamId'),
    eventId: document.eventId,
    version: readSafeInteger(document.version, 'version'),
    position: readPosition(document._id, '_id'),
  }));
}

/**
 * Adds `count` to the counter inside the transaction and returns the last allocated position with
 * the server's clock ($$NOW), which becomes the batch's commit timestamp.
 */
async function allocatePositions(
  positions: Collection<PositionDocument>,
  count: number,
  session: ClientSession,
): Promise<{ last: bigint; at: Date }> {
  const counter = await positions.findOneAndUpdate(
    { _id: { $eq: POSITION_COUNTER_ID } },
    [
      {
        $set: {
          value: { $add: [{ $ifNull: ['$value', Long.fromNumber(0)] }, Long.fromNumber(count)] },
          at: '$$NOW',
        },
      },
    ],
    { session, upsert: true, returnDocument: 'after', ...RAW_READ },
  );
  return {
    last: readPosition(counter?.value, 'positions.value'),
    at: readDate(counter?.at, 'positions.at'),
  };
}
