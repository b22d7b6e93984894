import type { PreparedEventQuery } from '@es/core/adapter';
import type { Collection, Document, MongoClient, TransactionOptions } from 'mongodb';
import { isTransientTransactionError } from '../connection/mongo-errors.js';
import { POSITION_COUNTER_ID, type PositionDocument } from './append.js';
import { readPosition } from './bson-values.js';
import { EVENT_PROJECTION, type EventDocument, RAW_READ } from './event-document.js';
import { eventQueryFilter } from './filters.js';

/** What a read by query needs from the store. */
export interface QueryReadTarget {
  readonly client: MongoClient;
  readonly events: Collection<EventDocument>;
  readonly positions: Collection<PositionDocument>;
}

/** The arguments of one read by query, checked (`readQueryArguments`). */
export interface QueryReadRequest {
  readonly query: PreparedEventQuery;
  readonly afterPosition: bigint;
  readonly limit: number;
  readonly signal?: AbortSignal;
}

/** The documents a read by query found, and the position it is consistent with. */
export interface QueryReadDocuments {
  readonly documents: Document[];
  readonly position: bigint;
}

/**
 * The read of `EventStore.read`: one snapshot transaction, committed with a majority write concern
 * (so what it read is majority-committed and no failover can take it back). Every append moves the
 * counter in the transaction that inserts its events, so in one snapshot every position up to the
 * counter's value is committed and visible: the events are read up to that value, and the value is
 * the position (exact as a condition's `afterPosition`).
 */
export const QUERY_READ_TRANSACTION: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

// A snapshot read fails with a transient error during a failover or when its snapshot is gone
// (SnapshotTooOld); a fresh snapshot answers it, a few times at most.
const READ_ATTEMPTS = 3;

/** Reads a query's events and the position counter in one snapshot; see {@link QUERY_READ_TRANSACTION}. */
export async function readQueryInSnapshot(
  target: QueryReadTarget,
  request: QueryReadRequest,
): Promise<QueryReadDocuments> {
  const session = target.client.startSession();
  try {
    for (let attempt = 1; ; attempt++) {
      request.signal?.throwIfAborted();
      session.startTransaction(QUERY_READ_TRANSACTION);
      try {
        const result = await readOnce(target, request, session);
        await session.commitTransaction();
        return result;
      } catch (error) {
        if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
        if (attempt >= READ_ATTEMPTS || !isTransientTransactionError(error)) throw error;
      }
    }
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

async function readOnce(
  target: QueryReadTarget,
  request: QueryReadRequest,
  session: ReturnType<MongoClient['startSession']>,
): Promise<QueryReadDocuments> {
  const { query, afterPosition, limit, signal } = request;
  const counter = await target.positions.findOne(
    { _id: { $eq: POSITION_COUNTER_ID } },
    { session, projection: { value: 1 }, ...RAW_READ },
  );
  // No counter document yet: nothing was ever appended.
  const head = counter ? readPosition(counter.value, 'positions.value') : 0n;
  if (head <= afterPosition) return { documents: [], position: afterPosition };
  signal?.throwIfAborted();
  const cursor = target.events.find(eventQueryFilter(query, afterPosition, head), {
    session,
    sort: { _id: 1 },
    projection: EVENT_PROJECTION,
    ...RAW_READ,
  });
  if (limit < Number.MAX_SAFE_INTEGER) cursor.limit(limit);
  const documents: Document[] = await cursor.toArray();
  // Cut by the limit: the next page reads after the last event returned.
  const position =
    documents.length === limit ? readPosition(documents[documents.length - 1]!._id, '_id') : head;
  return { documents, position };
}
