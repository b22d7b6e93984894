import {
  EventStoreUnavailableError,
  InvalidArgumentError,
  isEventSourcingError,
  type LeaseFence,
  LeaseLostError,
  type ParkedEvent,
  type Position,
  type ProjectionBatch,
  type ProjectionStore,
} from '@es/core';
import { assertPosition, assertStreamId } from '@es/core/adapter';
import type { ClientSession, Collection, Db, TransactionOptions } from 'mongodb';
import {
  type MongoConnection,
  type MongoConnectionOptions,
  openConnection,
  StoreLifecycle,
} from '../connection/connection.js';
import { isTransientTransactionError, wrapDriverError } from '../connection/mongo-errors.js';
import { onFirstUse } from '../connection/ready.js';
import { askHello, transactionSupportProblem } from '../connection/topology.js';
import { readPosition, toBsonPosition } from '../events/bson-values.js';
import { RAW_READ } from '../events/event-document.js';
import { migrationTargets } from '../schema/migrate.js';
import { assertBooleanOption, optionOr } from '../schema/names.js';
import { applyMigrations, assertMigrated, type MongoMigrationReport, reportOf } from '../schema/schema.js';
import type { CheckpointDocument } from './mongo-checkpoint-store.js';
import {
  assertParkedEvent,
  listParkedEvents,
  listRetryRequestedEvents,
  markParkedForRetry,
  type ParkedEventDocument,
  parkEvent,
  recordParkedRetryFailure,
  removeParkedEvent,
} from './mongo-parked-event-store.js';
import { assertFence, type ConsumerGroupDocument, heldLeaseFilter } from './mongo-partition-lease-store.js';

/** The collections {@link MongoProjectionStore} uses, as the other stores name them. */
export interface MongoProjectionCollections {
  /** The checkpoints collection (shared with `MongoCheckpointStore`). Defaults to `"checkpoints"`. */
  readonly checkpoints?: string;
  /** The parked events collection (shared with `MongoParkedEventStore`). Defaults to `"parked_events"`. */
  readonly parked?: string;
  /** The collection of the `MongoPartitionLeaseStore` whose fences batches carry. Defaults to `"consumer_groups"`. */
  readonly leases?: string;
}

/** Options of {@link MongoProjectionStore}: `connection` (a MongoClient or a connection string) and more. */
export interface MongoProjectionStoreOptions extends MongoConnectionOptions {
  /** The collection names, when the other stores use other names than the defaults. */
  readonly collections?: MongoProjectionCollections;
  /**
   * Apply the bundled migrations before the first operation. Defaults to `false`: run `migrate()`
   * as a deployment step; a store used before that fails with `StoreNotMigratedError`.
   */
  readonly autoMigrate?: boolean;
}

/**
 * What a projection handler receives from {@link MongoProjectionStore}: the batch's session, inside
 * its transaction, and the store's database. Pass `session` to every read and write of the read
 * model, so they commit (or vanish) with the checkpoint.
 */
export interface MongoProjectionContext {
  readonly session: ClientSession;
  readonly db: Db;
}

/**
 * Snapshot reads and majority writes on the primary, as appends: the checkpoint and the lease are
 * written first, so two batches of one subscription (or a takeover of the lease) conflict before
 * any handler runs.
 */
const BATCH_TRANSACTION: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

// A batch whose first writes conflict with another transaction is opened again after a jittered
// backoff, as the driver's withTransaction does, for at most this long.
const OPEN_RETRY_LIMIT_MS = 120_000;
const COMMIT_ATTEMPTS = 3;

type Opening = 'open' | 'refused' | 'lost';

/**
 * Ends a batch from inside it (a handler's failed attempt found the checkpoint moved or the lease
 * lost when the batch was opened again). An `EventStoreUnavailableError`, so a projection does not
 * count it as a handler failure; `commitBatch` turns it into `false` or `LeaseLostError`.
 */
class BatchEnded extends EventStoreUnavailableError {
  constructor(
    readonly outcome: 'refused' | 'lost',
    subscriptionId: string,
  ) {
    super(
      outcome === 'refused'
        ? `The batch of "${subscriptionId}" was refused: another instance moved its checkpoint.`
        : `The batch of "${subscriptionId}" lost its lease.`,
    );
  }
}

type LogEntry =
  | { readonly kind: 'attempt'; readonly run: (context: MongoProjectionContext) => Promise<void> }
  | { readonly kind: 'park'; readonly event: ParkedEvent }
  | { readonly kind: 'unpark'; readonly position: Position };

/**
 * Exactly-once projections into a read model in the same MongoDB database (a replica set or a
 * sharded cluster: batches are multi-document transactions). Each batch is one transaction: the
 * handler writes through the session it receives as context, poison events are parked in it, and
 * the checkpoint moves in it from `expected` (compare-and-set). With a lease fence (a consumer
 * group's partition), the lease document is updated first in the same transaction, guarded by its
 * token, owner and expiry against the server's clock (`$$NOW`): a lease that lapsed or changed hands
 * makes the batch fail with `LeaseLostError`, writing nothing, and a takeover attempted while the
 * batch runs waits for it (so does the holder's own renewal), so it cannot slip in between.
 *
 * MongoDB has no savepoints. A failed handler attempt is undone by aborting the transaction and
 * opening it again, then running the batch's earlier successful attempts and parks again, in order,
 * before the error is rethrown: the retry starts from exactly the state before the failed attempt,
 * at the price of running earlier handlers of the batch more than once (handlers must give the same
 * writes for the same read-model state, which a retried batch needs anyway).
 *
 * @example
 * const readModel = new MongoProjectionStore({ connection: client, database: 'shop' });
 * const projection = new Projection({
 *   name: 'balances', eventStore, readModel,
 *   handler: async (event, { db, session }) => {
 *     await db.collection('balances').updateOne({ _id: event.streamId }, { $inc: { amount: 1 } }, { session, upsert: true });
 *   },
 * });
 */
export class MongoProjectionStore implements ProjectionStore<MongoProjectionContext> {
  readonly #connection: MongoConnection;
  readonly #checkpoints: Collection<CheckpointDocument>;
  readonly #parked: Collection<ParkedEventDocument>;
  readonly #leases: Collection<ConsumerGroupDocument>;
  readonly #auto: boolean;
  readonly #life = new StoreLifecycle('MongoProjectionStore');
  readonly #whenReady: () => Promise<void>;

  constructor(options: MongoProjectionStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError(
        'options',
        'expected { connection, database?, collections?, autoMigrate? }.',
      );
    }
    const collections = options.collections ?? {};
    // Checked (with migrate()'s words) before the connection is touched.
    const names = migrationTargets({
      checkpoints: collections.checkpoints,
      parked: collections.parked,
      leases: collections.leases,
    });
    const auto = optionOr(options.autoMigrate, false);
    assertBooleanOption(auto, 'autoMigrate');
    this.#auto = auto;
    this.#connection = openConnection(options);
    const { db } = this.#connection;
    this.#checkpoints = db.collection<CheckpointDocument>(names.checkpoints!);
    this.#parked = db.collection<ParkedEventDocument>(names.parked!);
    this.#leases = db.collection<ConsumerGroupDocument>(names.leases!);
    this.#whenReady = this.#life.guard(onFirstUse(() => this.#prepare()));
  }

  /** The names of the checkpoints, parked events and leases collections. */
  get collectionNames(): Required<MongoProjectionCollections> {
    return {
      checkpoints: this.#checkpoints.collectionName,
      parked: this.#parked.collectionName,
      leases: this.#leases.collectionName,
    };
  }

  /** Creates the three collections from the bundled migrations (the package's `migrate()` for them only). Idempotent. */
  async migrate(): Promise<MongoMigrationReport> {
    this.#life.assertOpen();
    return reportOf(await applyMigrations(this.#connection.db, this.collectionNames));
  }

  async load(subscriptionId: string): Promise<Position | undefined> {
    assertStreamId(subscriptionId, 'subscription id');
    const document = await this.#run(`load the checkpoint of "${subscriptionId}"`, () =>
      this.#checkpoints.findOne({ _id: { $eq: subscriptionId } }, RAW_READ),
    );
    return document ? readPosition(document.position, 'position') : undefined;
  }

  /**
   * Runs one batch in a transaction that also moves the checkpoint from `expected` to `position`
   * (and, given `fence`, checks and touches the lease first). Returns false, having written
   * nothing, when the checkpoint was not `expected`; rejects with `LeaseLostError`, having written
   * nothing, when the lease is not held; rejects with the work's error, having written nothing,
   * when `work` fails. Attempts must not run concurrently within one batch.
   */
  async commitBatch(
    subscriptionId: string,
    expected: Position | undefined,
    position: Position,
    work: (batch: ProjectionBatch<MongoProjectionContext>) => Promise<void>,
    fence?: LeaseFence,
  ): Promise<boolean> {
    assertStreamId(subscriptionId, 'subscription id');
    if (expected !== undefined) assertPosition(expected, 'expected position');
    assertPosition(position);
    if (fence !== undefined) assertFence(fence);
    await this.#whenReady();
    const session = this.#connection.client.startSession();
    const batch = new BatchTransaction(this.#parts(), session, { subscriptionId, expected, position, fence });
    try {
      const opening = await batch.open();
      if (opening !== 'open') return this.#ended(opening, fence);
      try {
        await work(batch.api());
        // The work may have caught the error that ended its transaction: that error decides.
        batch.assertUsable();
      } catch (error) {
        await batch.abort();
        if (error instanceof BatchEnded) return this.#ended(error.outcome, fence);
        throw error;
      }
      await batch.commit();
      return true;
    } finally {
      await session.endSession().catch(() => undefined);
    }
  }

  async reset(subscriptionId: string): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    await this.#run(`reset "${subscriptionId}"`, () =>
      this.#checkpoints.deleteOne({ _id: { $eq: subscriptionId } }),
    );
  }

  async listParked(subscriptionId: string): Promise<ParkedEvent[]> {
    assertStreamId(subscriptionId, 'subscription id');
    return this.#run(`list the parked events of "${subscriptionId}"`, () =>
      listParkedEvents(this.#parked, subscriptionId),
    );
  }

  async removeParked(subscriptionId: string, position: Position): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    await this.#run(`remove a parked event of "${subscriptionId}"`, () =>
      removeParkedEvent(this.#parked, subscriptionId, position),
    );
  }

  /** Asks the worker owning the subscription to handle a parked event again; false when not parked. */
  async requestRetry(subscriptionId: string, position: Position): Promise<boolean> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    return this.#run(`request a retry of a parked event of "${subscriptionId}"`, () =>
      markParkedForRetry(this.#parked, subscriptionId, position),
    );
  }

  /** The parked events of these subscriptions marked for a retry, in position order. */
  async listRetryRequests(subscriptionIds: readonly string[]): Promise<ParkedEvent[]> {
    for (const id of subscriptionIds) assertStreamId(id, 'subscription id');
    return this.#run('list the parked events marked for a retry', () =>
      listRetryRequestedEvents(this.#parked, subscriptionIds),
    );
  }

  /** A requested retry failed again: counts the attempt, keeps `error`, clears the mark. */
  async recordRetryFailure(subscriptionId: string, position: Position, error: string): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    await this.#run(`record a failed retry of a parked event of "${subscriptionId}"`, () =>
      recordParkedRetryFailure(this.#parked, subscriptionId, position, error),
    );
  }

  /**
   * Closes the client when the store opened it from a connection string. Every later call fails with
   * `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      if (this.#connection.ownsClient) await this.#connection.client.close();
    });
  }

  #parts(): BatchParts {
    return {
      db: this.#connection.db,
      checkpoints: this.#checkpoints,
      parked: this.#parked,
      leases: this.#leases,
      fail: (error, operation) => this.#life.error(error, (cause) => wrapDriverError(cause, operation)),
    };
  }

  #ended(outcome: 'refused' | 'lost', fence: LeaseFence | undefined): boolean {
    if (outcome === 'refused' || !fence) return false;
    throw new LeaseLostError(fence.group, fence.partition, fence.token);
  }

  async #run<T>(operation: string, action: () => Promise<T>): Promise<T> {
    await this.#whenReady();
    try {
      return await action();
    } catch (error) {
      throw this.#life.error(error, (cause) => wrapDriverError(cause, operation));
    }
  }

  // Run once before the first operation: batches need transactions; then the schema is applied
  // (autoMigrate) or checked.
  async #prepare(): Promise<void> {
    let problem: string | undefined;
    try {
      problem = transactionSupportProblem(await askHello(this.#connection.db));
    } catch (error) {
      throw wrapDriverError(error, 'connect');
    }
    if (problem) {
      throw new EventStoreUnavailableError(
        `MongoProjectionStore commits each batch (read model, parked events, checkpoint) in one transaction, but ${problem}. ` +
          'On a server without transactions use checkpointProjectionStore(new MongoCheckpointStore(...), new MongoParkedEventStore(...)) (at-least-once).',
      );
    }
    if (this.#auto) await this.migrate();
    else await assertMigrated(this.#connection.db, this.collectionNames, 'MongoProjectionStore');
  }
}

/** What a {@link BatchTransaction} needs of its store. */
interface BatchParts {
  readonly db: Db;
  readonly checkpoints: Collection<CheckpointDocument>;
  readonly parked: Collection<ParkedEventDocument>;
  readonly leases: Collection<ConsumerGroupDocument>;
  /** The typed error for a driver failure (`StoreClosedError` once the store is closed). */
  readonly fail: (error: unknown, operation: string) => Error;
}

interface BatchTarget {
  readonly subscriptionId: string;
  readonly expected: Position | undefined;
  readonly position: Position;
  readonly fence: LeaseFence | undefined;
}

/** One batch's transaction: opened, replayed after a failed attempt, committed or aborted. */
class BatchTransaction {
  readonly #parts: BatchParts;
  readonly #session: ClientSession;
  readonly #target: BatchTarget;
  readonly #context: MongoProjectionContext;
  readonly #log: LogEntry[] = [];
  // Set when the transaction is gone for good (ended by a replay, or failed): every later step of
  // the batch throws it again, even if the work caught it the first time.
  #failure: Error | undefined;

  constructor(parts: BatchParts, session: ClientSession, target: BatchTarget) {
    this.#parts = parts;
    this.#session = session;
    this.#target = target;
    this.#context = Object.freeze({ session, db: this.#parts.db });
  }

  /**
   * Starts the transaction with its first writes: the lease (given a fence), then the checkpoint.
   * A write conflict there (another batch of the subscription, a takeover) is retried on a new
   * transaction after a backoff; nothing of the work has run yet.
   */
  async open(): Promise<Opening> {
    const deadline = Date.now() + OPEN_RETRY_LIMIT_MS;
    for (let attempt = 1; ; attempt++) {
      this.#session.startTransaction(BATCH_TRANSACTION);
      try {
        const opening = await this.#firstWrites();
        if (opening !== 'open') await this.abort();
        return opening;
      } catch (error) {
        await this.abort();
        if (!isTransientTransactionError(error) || Date.now() >= deadline) {
          throw this.#parts.fail(error, `open a batch of "${this.#target.subscriptionId}"`);
        }
        const backoff = Math.min(500, 5 * 2 ** Math.min(attempt, 7));
        await new Promise((resolve) => setTimeout(resolve, backoff / 2 + Math.random() * (backoff / 2)));
      }
    }
  }

  /** The `ProjectionBatch` the work receives. */
  api(): ProjectionBatch<MongoProjectionContext> {
    return {
      attempt: (run) => this.#attempt(run),
      park: (event) => this.#park(event),
      unpark: (position) => this.#unpark(position),
    };
  }

  /** Throws the error that ended the transaction, if one did. */
  assertUsable(): void {
    if (this.#failure) throw this.#failure;
  }

  async commit(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#session.commitTransaction();
        return;
      } catch (error) {
        // The commit may have happened: committing again is safe and gives the answer.
        if (hasLabel(error, 'UnknownTransactionCommitResult') && attempt < COMMIT_ATTEMPTS) continue;
        await this.abort();
        throw this.#parts.fail(error, `commit a batch of "${this.#target.subscriptionId}"`);
      }
    }
  }

  async abort(): Promise<void> {
    if (this.#session.inTransaction()) await this.#session.abortTransaction().catch(() => undefined);
  }

  async #firstWrites(): Promise<Opening> {
    const { subscriptionId, expected, position, fence } = this.#target;
    const session = this.#session;
    if (fence) {
      // A write, not a read: in MongoDB only a write to the lease document makes a concurrent
      // takeover conflict with this transaction (or wait for it).
      const touched = await this.#parts.leases.updateOne(
        heldLeaseFilter(fence),
        [{ $set: { lastCommitAt: '$$NOW' } }],
        { session },
      );
      if (touched.matchedCount !== 1) return 'lost';
    }
    const next = { position: toBsonPosition(position), updatedAt: new Date() };
    if (expected === undefined) {
      // An upsert, not an insert: a duplicate-key error would abort the transaction.
      const created = await this.#parts.checkpoints.updateOne(
        { _id: { $eq: subscriptionId } },
        { $setOnInsert: next },
        { session, upsert: true },
      );
      return created.upsertedCount === 1 ? 'open' : 'refused';
    }
    const moved = await this.#parts.checkpoints.updateOne(
      { _id: { $eq: subscriptionId }, position: { $eq: toBsonPosition(expected) } },
      { $set: next },
      { session },
    );
    return moved.matchedCount === 1 ? 'open' : 'refused';
  }

  async #attempt(run: (context: MongoProjectionContext) => Promise<void>): Promise<void> {
    this.assertUsable();
    try {
      await run(this.#context);
    } catch (error) {
      // The transaction itself failed (a write conflict, a lost connection): the store's fault,
      // reported as EventStoreUnavailableError so a projection retries the batch without spending
      // the handler's attempts.
      if (
        !isEventSourcingError(error) &&
        (isTransientTransactionError(error) || !this.#session.inTransaction())
      ) {
        throw this.#fail(this.#parts.fail(error, `handle a batch of "${this.#target.subscriptionId}"`));
      }
      try {
        await this.#undoLastAttempt();
      } catch (undoError) {
        throw this.#fail(undoError);
      }
      throw error;
    }
    this.#log.push({ kind: 'attempt', run });
  }

  async #park(event: ParkedEvent): Promise<void> {
    this.assertUsable();
    assertParkedEvent(event);
    try {
      await parkEvent(this.#parts.parked, event, this.#session);
    } catch (error) {
      throw this.#fail(this.#parts.fail(error, `park an event of "${this.#target.subscriptionId}"`));
    }
    this.#log.push({ kind: 'park', event });
  }

  async #unpark(position: Position): Promise<void> {
    this.assertUsable();
    assertPosition(position);
    try {
      await removeParkedEvent(this.#parts.parked, this.#target.subscriptionId, position, this.#session);
    } catch (error) {
      throw this.#fail(this.#parts.fail(error, `forget a parked event of "${this.#target.subscriptionId}"`));
    }
    this.#log.push({ kind: 'unpark', position });
  }

  #fail(error: unknown): Error {
    this.#failure = error instanceof Error ? error : new EventStoreUnavailableError(String(error));
    return this.#failure;
  }

  // No savepoints in MongoDB: abort, open again, and redo what succeeded before the failed attempt.
  async #undoLastAttempt(): Promise<void> {
    await this.abort();
    const opening = await this.open();
    if (opening !== 'open') throw new BatchEnded(opening, this.#target.subscriptionId);
    for (const entry of this.#log) {
      try {
        if (entry.kind === 'park') await parkEvent(this.#parts.parked, entry.event, this.#session);
        else if (entry.kind === 'unpark')
          await removeParkedEvent(
            this.#parts.parked,
            this.#target.subscriptionId,
            entry.position,
            this.#session,
          );
        else await entry.run(this.#context);
      } catch (error) {
        await this.abort();
        throw new EventStoreUnavailableError(
          `A batch of "${this.#target.subscriptionId}" could not be rebuilt after a failed handler attempt: ` +
            `an earlier step that had succeeded failed when run again (${String(error)}). ` +
            'Nothing of the batch was kept; it is handled again from the checkpoint.',
          { cause: error },
        );
      }
    }
  }
}

function hasLabel(error: unknown, label: string): boolean {
  const candidate = error as { hasErrorLabel?: (name: string) => boolean } | null;
  return typeof candidate?.hasErrorLabel === 'function' && candidate.hasErrorLabel(label);
}
