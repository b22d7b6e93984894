import { InvalidArgumentError, LeaseLostError } from '../errors.js';
import type { Position } from '../events.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { ParkedEvent, ParkedEventStore, ParkedRetryRequests } from './parked-events.js';
import type { LeaseFence, PartitionLeaseStore } from './partition-leases.js';

/**
 * One batch of a projection in progress: each handler attempt runs through `attempt`, a poison
 * event is recorded through `park`. A transactional store runs the whole batch in one database
 * transaction and undoes a failed attempt's writes (a savepoint), so a retry starts clean.
 */
export interface ProjectionBatch<TContext> {
  /** Runs one attempt of the handler with the batch's context (e.g. a transaction); rethrows its error. */
  attempt(run: (context: TContext) => Promise<void>): Promise<void>;
  park(event: ParkedEvent): Promise<void>;
  /**
   * Forgets a parked event of this subscription as part of the batch (a retried event that the
   * handler has now handled). A transactional store deletes the record in the batch's transaction,
   * so the retry's writes and the removal commit together (exactly-once); the bundled stores all
   * offer it.
   */
  unpark?(position: Position): Promise<void>;
}

/**
 * Where a projection keeps its progress. `commitBatch` runs `work` and then moves the checkpoint
 * from `expected` to `position`; it returns false, keeping nothing it could undo, when the
 * checkpoint was no longer `expected` (another instance moved it). Given a `fence` (a consumer-group
 * partition's lease), it first checks that the lease is still held, and rejects with
 * `LeaseLostError`, keeping nothing, when it is not; a transactional store checks it in the batch's
 * transaction, so a takeover cannot slip between the check and the commit.
 *
 * `checkpointProjectionStore` (any `CheckpointStore`) stores the checkpoint after the handler's
 * writes: delivery is at-least-once. A store that commits the read model and the checkpoint in
 * one transaction (e.g. `PostgresProjectionStore` of @es/store-postgres) gives exactly-once.
 *
 * A store that also offers `ParkedRetryRequests` lets an operator ask a running consumer group to
 * retry a parked event (the web console, `es parked retry --request`); without them, parked events
 * are retried in code (`ConsumerGroup.retryParked`) or with `es parked retry --module`.
 */
export interface ProjectionStore<TContext = void> extends Partial<ParkedRetryRequests> {
  load(subscriptionId: string): Promise<Position | undefined>;
  commitBatch(
    subscriptionId: string,
    expected: Position | undefined,
    position: Position,
    work: (batch: ProjectionBatch<TContext>) => Promise<void>,
    fence?: LeaseFence,
  ): Promise<boolean>;
  reset(subscriptionId: string): Promise<void>;
  /** The subscription's parked events, in position order. */
  listParked(subscriptionId: string): Promise<ParkedEvent[]>;
  /** Forgets one parked event. */
  removeParked(subscriptionId: string, position: Position): Promise<void>;
}

/**
 * A `ProjectionStore` over any `CheckpointStore` and `ParkedEventStore`: at-least-once delivery.
 * After a crash between a batch's handler calls and its checkpoint, the batch is handled again,
 * so handlers must be idempotent (e.g. upsert by event id or skip `position <= lastApplied`, see
 * `skipHandledEvents` of @es/replay). With `leases`, a batch given a fence checks it before the
 * handler runs and again before the checkpoint is saved: a worker whose lease lapsed stops there, but
 * the two checks are not atomic with the handler's writes (at-least-once, not fenced writes).
 */
export function checkpointProjectionStore(
  checkpoints: CheckpointStore,
  parked: ParkedEventStore,
  leases?: PartitionLeaseStore,
): ProjectionStore<void> {
  const requests = retryRequestsOf(parked);
  const checkFence = async (fence: LeaseFence | undefined) => {
    if (!fence) return;
    if (!leases) {
      throw new InvalidArgumentError(
        'leases',
        'a consumer-group batch carries a lease fence: build the store as checkpointProjectionStore(checkpoints, parked, leases).',
      );
    }
    if (!(await leases.isHeld(fence))) throw new LeaseLostError(fence.group, fence.partition, fence.token);
  };
  return {
    load: (subscriptionId) => checkpoints.load(subscriptionId),
    reset: (subscriptionId) => checkpoints.reset(subscriptionId),
    listParked: (subscriptionId) => parked.list(subscriptionId),
    removeParked: (subscriptionId, position) => parked.remove(subscriptionId, position),
    ...requests,
    async commitBatch(subscriptionId, expected, position, work, fence) {
      await checkFence(fence);
      await work({
        attempt: (run) => run(undefined),
        park: (event) => parked.park(event),
        unpark: (at) => parked.remove(subscriptionId, at),
      });
      await checkFence(fence);
      if (!checkpoints.saveIf) {
        await checkpoints.save(subscriptionId, position);
        return true;
      }
      return checkpoints.saveIf(subscriptionId, expected, position);
    },
  };
}

/** The retry-request methods of `parked`, bound, when it has all of them. */
function retryRequestsOf(parked: ParkedEventStore): ParkedRetryRequests | Record<string, never> {
  const candidate = parked as ParkedEventStore & Partial<ParkedRetryRequests>;
  if (!candidate.requestRetry || !candidate.listRetryRequests || !candidate.recordRetryFailure) return {};
  return {
    requestRetry: candidate.requestRetry.bind(parked),
    listRetryRequests: candidate.listRetryRequests.bind(parked),
    recordRetryFailure: candidate.recordRetryFailure.bind(parked),
  };
}
