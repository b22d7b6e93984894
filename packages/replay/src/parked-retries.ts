import {
  type DomainEvent,
  type EventStore,
  InvalidArgumentError,
  isStoreNotMigratedError,
  type LeaseFence,
  type ParkedEvent,
  type Position,
  type ProjectionStore,
  type StoredEvent,
} from '@es/core';
import { describeError } from './describe-error.js';
import { isStoreFault } from './handle-with-retry.js';

/** What handling one parked event again needs. */
export interface HandleParkedOptions<E extends DomainEvent, TContext> {
  readonly eventStore: EventStore;
  readonly readModel: ProjectionStore<TContext>;
  readonly subscriptionId: string;
  readonly position: Position;
  /** Runs the handler once on the event with the batch's context. */
  readonly run: (event: StoredEvent<E>, context: TContext) => Promise<void>;
  /** A consumer-group partition's lease: the batch is refused when it is no longer held. */
  readonly fence?: LeaseFence;
}

/**
 * Handles a parked event again in a batch of its subscription that leaves the checkpoint where it
 * is, then forgets it. Rejects with the handler's error, keeping it parked, when it fails again.
 */
export async function handleParkedAgain<E extends DomainEvent, TContext>(
  options: HandleParkedOptions<E, TContext>,
): Promise<void> {
  const { eventStore, readModel, subscriptionId, position, run, fence } = options;
  const event = await eventAt<E>(eventStore, position);
  let forgotten = false;
  for (;;) {
    const checkpoint = await readModel.load(subscriptionId);
    forgotten = false;
    const committed = await readModel.commitBatch(
      subscriptionId,
      checkpoint,
      checkpoint ?? 0n,
      async (unit) => {
        await unit.attempt((context) => run(event, context));
        // In the batch: the handler's writes and the record's removal commit together, so a crash
        // between them cannot make the event be handled again.
        if (unit.unpark) {
          await unit.unpark(position);
          forgotten = true;
        }
      },
      fence,
    );
    if (committed) break;
  }
  if (!forgotten) await readModel.removeParked(subscriptionId, position);
}

async function eventAt<E extends DomainEvent>(
  eventStore: EventStore,
  position: Position,
): Promise<StoredEvent<E>> {
  for await (const candidate of eventStore.getAllEvents<E>(position - 1n, {
    toPosition: position,
    batchSize: 1,
  })) {
    if (candidate.position === position) return candidate;
  }
  throw new InvalidArgumentError('event', `no event at position ${position} in the log.`);
}

/** A subscription whose retry requests this worker serves. */
export interface RetryTarget<E extends DomainEvent, TContext> {
  readonly subscriptionId: string;
  readonly run: (event: StoredEvent<E>, context: TContext) => Promise<void>;
  readonly fence?: LeaseFence;
}

/**
 * Serves operators' retry requests (`ParkedRetryRequests` of the read model: the web console,
 * `es parked retry --request`) for the subscriptions a worker owns: at most once per `everyMs` it
 * asks for the marked parked events and handles each one again with the worker's own handler. A
 * success forgets the event; a failure clears the mark and records the attempt and the new error.
 * A read model without retry requests, or a schema without their migration, is skipped (the latter
 * reported once through `onError`).
 */
export class RetryRequestSweeper<E extends DomainEvent, TContext> {
  readonly #eventStore: EventStore;
  readonly #readModel: ProjectionStore<TContext>;
  readonly #onError: (error: unknown) => void;
  readonly #everyMs: number;
  // The first sweep comes `everyMs` after the worker starts: catching up goes first.
  #lastSweep = Date.now();
  #unavailable: boolean;

  constructor(options: {
    eventStore: EventStore;
    readModel: ProjectionStore<TContext>;
    onError: (error: unknown) => void;
    everyMs?: number;
  }) {
    this.#eventStore = options.eventStore;
    this.#readModel = options.readModel;
    this.#onError = options.onError;
    this.#everyMs = options.everyMs ?? 1000;
    this.#unavailable = !this.#readModel.listRetryRequests || !this.#readModel.recordRetryFailure;
  }

  /** Whether a sweep would look for requests now (checked without yielding, so a busy loop keeps its pace). */
  get due(): boolean {
    return !this.#unavailable && Date.now() - this.#lastSweep >= this.#everyMs;
  }

  /**
   * Handles the requests of `targets` if the last sweep is `everyMs` old. A store's fault (a lost
   * lease, a dropped connection) is rethrown.
   */
  async sweep(targets: readonly RetryTarget<E, TContext>[]): Promise<void> {
    if (!this.due || targets.length === 0) return;
    this.#lastSweep = Date.now();
    let requests: ParkedEvent[];
    try {
      requests = await this.#readModel.listRetryRequests!(targets.map((target) => target.subscriptionId));
    } catch (error) {
      if (!isStoreNotMigratedError(error)) throw error;
      // An older schema: the worker goes on without retry requests (migrate to enable them).
      this.#unavailable = true;
      this.#onError(error);
      return;
    }
    for (const request of requests) {
      const target = targets.find((candidate) => candidate.subscriptionId === request.subscriptionId)!;
      try {
        await handleParkedAgain({
          eventStore: this.#eventStore,
          readModel: this.#readModel,
          subscriptionId: request.subscriptionId,
          position: request.position,
          run: target.run,
          ...(target.fence ? { fence: target.fence } : {}),
        });
      } catch (error) {
        if (isStoreFault(error)) throw error;
        await this.#readModel.recordRetryFailure!(
          request.subscriptionId,
          request.position,
          describeError(error),
        );
      }
    }
  }
}
