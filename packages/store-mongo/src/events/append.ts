import {
  AppendConditionFailedError,
  type AppendResult,
  ConcurrencyConflictError,
  EventSerializationError,
  EventStoreUnavailableError,
  expectedVersionMismatch,
  isConcurrencyConflictError,
  isEventSourcingError,
} from '@es/core';
import {
  type PreparedAppend,
  type PreparedAppendCondition,
  resolveRetriedAppend,
  type StoredEventLocation,
} from '@es/core/adapter';
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
  isTransactionTooLarge,
  isTransientTransactionError,
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
import { eventIdsAnywhereFilter, eventQueryFilter, wholeStreamFilter } from './filters.js';

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
 * How long one append may take, from the call to its commit's acknowledgement, unless
 * `appendTimeoutMs` says otherwise: 30 s.
 */
export const DEFAULT_APPEND_TIMEOUT_MS = 30_000;

/**
 * The most BSON bytes one batch may hold, unless `maxBatchBytes` says otherwise: 16 MiB. A
 * transaction's writes must stay in the WiredTiger cache until it commits; far larger batches are
 * refused by the server (TransactionTooLargeForCache, 6.2+) or keep failing as write conflicts (6.0).
 */
export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** The limits of one append (the store's `appendTimeoutMs` and `maxBatchBytes`). */
export interface AppendLimits {
  readonly timeoutMs: number;
  readonly maxBatchBytes: number;
}

/**
 * Snapshot reads, majority writes, on the primary, with the commit bounded by what is left of the
 * append's time: the write concern's `wtimeout` and `maxCommitTimeMS` (the commit's `maxTimeMS`),
 * so a commit never waits forever for a majority. Every append updates the one counter document,
 * so two overlapping appends always write-conflict: the loser is retried on a fresh snapshot,
 * which makes allocation serial and positions commit-ordered.
 */
export function appendTransaction(remainingMs: number): TransactionOptions {
  const bound = Math.max(1, Math.ceil(remainingMs));
  return {
    readConcern: { level: 'snapshot' },
    writeConcern: { w: 'majority', wtimeoutMS: bound },
    readPreference: 'primary',
    maxCommitTimeMS: bound,
  };
}

// A duplicate key means a concurrent writer committed first; one more attempt on a fresh snapshot
// turns it into the ordinary answer (the original result of a retry, or a conflict with the version).
const DUPLICATE_KEY_ATTEMPTS = 3;

// Waits between attempts after a write conflict: full jitter, from 1 ms doubling up to 25 ms. The
// driver's own loop grows to 500 ms, which under 8+ writers lets one writer lose for seconds; a
// short cap keeps every writer's next try close, at the price of more (cheap) conflicts.
const BACKOFF_FIRST_MS = 1;
const BACKOFF_MAX_MS = 25;
const backoffMs = (attempt: number) =>
  Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const now = () => performance.now();

const UNKNOWN_COMMIT = 'UnknownTransactionCommitResult';
const MAX_TIME_EXPIRED = 50;

/** What one attempt decided: the result, and whether it wrote (and so must commit). */
interface Attempt {
  readonly result: AppendResult;
  readonly writes: boolean;
}

/**
 * Appends a prepared batch in one transaction; see {@link appendTransaction}. The whole append,
 * retries included, is bounded by `limits.timeoutMs`: when time runs out before the commit is
 * sent it fails with `EventStoreUnavailableError` saying nothing was written; when a commit was
 * sent but not confirmed, with the "outcome is unknown" `EventStoreUnavailableError`. With a
 * `condition` (dynamic consistency boundaries), the transaction also looks for a matching event
 * after the condition's position once it has written the counter, and fails with
 * `AppendConditionFailedError`, writing nothing, when it finds one.
 */
export async function appendInTransaction(
  target: AppendTarget,
  append: PreparedAppend,
  limits: AppendLimits,
  condition?: PreparedAppendCondition,
): Promise<AppendResult> {
  // Encoded once, and refused before any request when a document or the batch could not fit.
  const encoded = encodeEvents(append.events);
  assertBatchFits(assertEventsFit(encoded, append.streamId), limits.maxBatchBytes, append.streamId);
  const deadline = now() + limits.timeoutMs;
  const operation = `append to stream "${append.streamId}"`;
  const session = target.client.startSession();
  let lastError: unknown;
  let duplicates = 0;
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        const wait = backoffMs(attempt);
        if (now() + wait >= deadline) throw timedOut(operation, limits, lastError);
        await sleep(wait);
      }
      const remaining = deadline - now();
      if (remaining <= 0) throw timedOut(operation, limits, lastError);
      session.startTransaction(appendTransaction(remaining));
      let outcome: Attempt;
      try {
        outcome = await appendOnce(target, append, encoded, session, condition);
      } catch (error) {
        if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
        if (isEventSourcingError(error)) throw error;
        lastError = error;
        if (isTransactionTooLarge(error)) throw wrapDriverError(error, operation);
        if (isTransientTransactionError(error)) continue;
        if (!isDuplicateKeyError(error)) throw wrapDriverError(error, operation);
        // On the counter's collection: two first upserts of the counter document raced; the next
        // attempt finds it. Never a stream conflict, never "the counter is behind".
        duplicates++;
        if (duplicateKeyCollection(error) === target.positions.collectionName) {
          if (duplicates >= DUPLICATE_KEY_ATTEMPTS) throw wrapDriverError(error, 'position counter update');
          continue;
        }
        if (duplicateKeyIndex(error) === '_id_') throw counterBehind(target, error);
        if (duplicates >= DUPLICATE_KEY_ATTEMPTS) {
          const actual = await readHead(target.events, append.streamId).catch(() => undefined);
          if (actual === undefined) throw wrapDriverError(error, operation);
          throw conflictFromDuplicateKey(error, append.streamId, append.expectedVersion, actual);
        }
        continue;
      }
      if (!outcome.writes) {
        await session.abortTransaction().catch(() => undefined);
        return outcome.result;
      }
      try {
        await commitBefore(session, deadline);
        return outcome.result;
      } catch (failure) {
        const { error, unknown } = failure as CommitFailed;
        lastError = error;
        if (unknown) throw outcomeUnknown(operation, limits, error);
        // Refused for good before it applied (e.g. a conflict found at commit): nothing was written.
        if (isTransientTransactionError(error)) continue;
        throw wrapDriverError(error, operation);
      }
    }
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

// Commits, and commits again (the same transaction, which the server applies once) while the
// outcome is unknown and time remains. A MaxTimeMSExpired means the bound itself ran out. Once one
// attempt's outcome was unknown, any later failure leaves it unknown, whatever that failure says.
async function commitBefore(session: ClientSession, deadline: number): Promise<void> {
  let uncertain = false;
  for (let attempt = 1; ; attempt++) {
    try {
      await session.commitTransaction();
      return;
    } catch (error) {
      uncertain ||= isUnknownCommit(error);
      // A later attempt labelled transient (NoSuchTransaction) means the server holds no commit of it.
      if (!isUnknownCommit(error) || isMaxTimeExpired(error))
        throw new CommitFailed(error, uncertain && !isTransientTransactionError(error));
      // A refused connection answers at once: wait a little so retries do not spin.
      const wait = backoffMs(attempt);
      if (now() + wait >= deadline) throw new CommitFailed(error, true);
      await sleep(wait);
    }
  }
}

/** A commit that failed: the driver error, and whether the transaction may have been applied. */
class CommitFailed {
  constructor(
    readonly error: unknown,
    readonly unknown: boolean,
  ) {}
}

function isUnknownCommit(error: unknown): boolean {
  const { hasErrorLabel } = (error ?? {}) as { hasErrorLabel?: (label: string) => boolean };
  return typeof hasErrorLabel === 'function' && hasErrorLabel.call(error, UNKNOWN_COMMIT);
}

function isMaxTimeExpired(error: unknown): boolean {
  const { code, writeConcernError } = (error ?? {}) as {
    code?: unknown;
    writeConcernError?: { code?: unknown };
  };
  return Number(code) === MAX_TIME_EXPIRED || Number(writeConcernError?.code) === MAX_TIME_EXPIRED;
}

// Refuses a batch whose documents add up to more than the configured cap, before anything is sent.
function assertBatchFits(bytes: number, maxBatchBytes: number, streamId: string): void {
  if (bytes <= maxBatchBytes) return;
  throw new EventSerializationError(
    `The batch for stream "${streamId}" is ${bytes} bytes of BSON, over maxBatchBytes (${maxBatchBytes}). ` +
      "One append is one transaction, and MongoDB keeps a transaction's writes in its cache until the " +
      'commit (TransactionTooLargeForCache). Nothing was written; append the events in smaller batches, ' +
      'or raise maxBatchBytes if the server has the cache for it.',
  );
}

function timedOut(operation: string, limits: AppendLimits, lastError: unknown): EventStoreUnavailableError {
  const why =
    lastError instanceof Error
      ? ` The last attempt failed with: ${lastError.message.replace(/\.$/, '')}.`
      : '';
  return new EventStoreUnavailableError(
    `MongoDB ${operation} did not finish within appendTimeoutMs (${limits.timeoutMs} ms) and was ` +
      `given up before its commit was sent: nothing was written, and retrying is safe.${why}`,
    lastError === undefined ? undefined : { cause: lastError },
  );
}

/**
 * The commit was sent but never confirmed (a lost connection, no majority within the bound): the
 * events may be stored. The same error type as every "unavailable", with `outcomeUnknown` set and a
 * message that says how to retry safely; the driver error (labelled `UnknownTransactionCommitResult`)
 * is the cause.
 */
function outcomeUnknown(operation: string, limits: AppendLimits, cause: unknown): EventStoreUnavailableError {
  const said = cause instanceof Error ? cause.message.replace(/\.$/, '') : String(cause);
  return new EventStoreUnavailableError(
    `The MongoDB ${operation} sent its commit, but it was not confirmed within appendTimeoutMs ` +
      `(${limits.timeoutMs} ms) (${said}): the outcome is unknown, and the events may be stored. Retry only with the ` +
      'same event ids: a batch whose events carry eventIds is recognised and its original result returned, ' +
      'while events without ids get new ones and would be stored twice (read the stream first to see ' +
      'whether they were stored).',
    { cause, outcomeUnknown: true },
  );
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
  condition: PreparedAppendCondition | undefined,
): Promise<Attempt> {
  const { streamId, expectedVersion, events } = append;
  const actualVersion = await readHead(target.events, streamId, session);
  try {
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
      if (original) return { result: original, writes: false };
    }
    const mismatch = expectedVersionMismatch(expectedVersion, actualVersion);
    if (mismatch) throw new ConcurrencyConflictError(streamId, expectedVersion, actualVersion, mismatch);
  } catch (error) {
    // The head came from the transaction's snapshot, which may predate a commit the caller has
    // already seen (it is taken from majority-committed data). Writing the counter proves it
    // current: every append writes it, so a newer commit makes this write conflict and the
    // transaction runs again on a fresh snapshot. The write is rolled back with the abort.
    if (isConcurrencyConflictError(error)) await touchCounter(target.positions, session);
    throw error;
  }

  const { last, at } = await allocatePositions(target.positions, events.length, session);
  // After the counter write, never before: the write proves the snapshot current (an append that
  // committed after it, or is still running, makes the write conflict and this attempt run again),
  // so no event the check would match can commit between the check and this transaction's commit.
  if (condition) {
    const conflicting = await firstMatchAfter(target.events, condition, session);
    if (conflicting !== undefined) throw new AppendConditionFailedError(condition.condition, conflicting);
  }
  const documents = placeEvents(encoded, {
    streamId,
    versionBefore: actualVersion,
    firstPosition: last - BigInt(events.length) + 1n,
    timestamp: at,
    idSupplied: append.mayBeRetry,
  });
  // ignoreUndefined: a property set to `undefined` is left out, as JSON leaves it out.
  await target.events.insertMany(documents, { session, ordered: true, ignoreUndefined: true });
  return { result: { nextVersion: actualVersion + events.length, lastPosition: last }, writes: true };
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

// The position of the first event matching the condition's query after its position, in the
// transaction's snapshot; `undefined` when none exists.
async function firstMatchAfter(
  events: Collection<EventDocument>,
  condition: PreparedAppendCondition,
  session: ClientSession,
): Promise<bigint | undefined> {
  const match = await events.findOne(eventQueryFilter(condition.query, condition.afterPosition), {
    session,
    sort: { _id: 1 },
    projection: { _id: 1 },
    ...RAW_READ,
  });
  return match ? readPosition(match._id, '_id') : undefined;
}

// Writes the counter document without allocating (its time only), inside the transaction.
async function touchCounter(positions: Collection<PositionDocument>, session: ClientSession): Promise<void> {
  await positions.findOneAndUpdate({ _id: { $eq: POSITION_COUNTER_ID } }, [{ $set: { at: '$$NOW' } }], {
    session,
    projection: { _id: 1 },
    ...RAW_READ,
  });
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
