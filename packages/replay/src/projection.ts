import {
  type AppendSubscription,
  backoffDelay,
  type DomainEvent,
  type EventStore,
  InvalidArgumentError,
  isStoreClosedError,
  type ParkedEvent,
  type Position,
  type ProjectionBatch,
  type ProjectionLease,
  type ProjectionLock,
  type StoredEvent,
} from '@es/core';
import { type EventHandler, handlerFunction } from './event-handler.js';
import { handleWithRetry } from './handle-with-retry.js';
import { handleParkedAgain, RetryRequestSweeper } from './parked-retries.js';
import {
  type ProjectionOptions,
  type ResolvedProjectionOptions,
  resolveProjectionOptions,
} from './projection-options.js';
import { readOneBatch } from './read-batches.js';
import { ConsumerTelemetry } from './telemetry.js';
import { sleep, WakeUp } from './wake-up.js';

interface PositionWaiter {
  readonly position: Position;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface IdleWaiter {
  readonly afterRead: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** An error no retry can cure: the projection stops with it (a store was closed). */
const isTerminal = (error: unknown): boolean => isStoreClosedError(error);

/**
 * A projection run as a catch-up subscription: it reads the log from its checkpoint in batches,
 * then follows new events live (woken by the store's append notifications where it has them,
 * polling otherwise). After each batch the checkpoint is stored. A failing handler is retried with
 * backoff; an event that keeps failing is parked and the projection goes on. With a `lock`, only
 * one instance runs at a time and a standby takes over when the holder dies.
 *
 * Delivery is at-least-once (a crash between a batch's writes and its checkpoint replays the
 * batch) unless `readModel` commits the handler's writes and the checkpoint in one transaction.
 *
 * @example
 * const projection = new Projection({ name: 'balances', eventStore, checkpoints, handler: applyToReadModel });
 * projection.start();
 * // ... later
 * await projection.stop(); // finishes the batch in progress
 */
export class Projection<E extends DomainEvent = DomainEvent, TContext = void> {
  readonly #options: ResolvedProjectionOptions<TContext>;
  readonly #eventStore: EventStore;
  readonly #handle: (event: StoredEvent<E>, context: TContext) => Promise<void>;
  readonly #lock: ProjectionLock | undefined;
  readonly #onParked: ((event: ParkedEvent) => void) | undefined;
  readonly #crash = new AbortController();
  // Aborted by stop() or a crash: ends every wait.
  readonly #halt = new AbortController();
  readonly #wake = new WakeUp();
  #running: Promise<void> | undefined;
  #position: Position | undefined;
  #active = false;
  #reads = 0;
  // Consecutive failed runs since the last successful read: the backoff of the next retry.
  #failures = 0;
  #failure: { error: unknown } | undefined;
  #positionWaiters: PositionWaiter[] = [];
  #idleWaiters: IdleWaiter[] = [];
  readonly #telemetry = new ConsumerTelemetry();
  readonly #retryRequests: RetryRequestSweeper<E, TContext>;
  readonly #labels = () => ({ 'es.subscription': this.#options.name });

  constructor(options: ProjectionOptions<E, TContext>) {
    this.#options = resolveProjectionOptions(options);
    this.#eventStore = options.eventStore;
    // Without a readModel the context is undefined, and the types let only a handler without one through.
    this.#handle = handlerFunction(options.handler as EventHandler<E, TContext>);
    this.#lock = options.lock;
    this.#onParked = options.onParked;
    this.#retryRequests = new RetryRequestSweeper<E, TContext>({
      eventStore: this.#eventStore,
      readModel: this.#options.readModel,
      onError: this.#options.onError,
    });
    if (options.signal) {
      const crash = () => {
        this.#crash.abort(options.signal?.reason);
        this.#halt.abort();
      };
      if (options.signal.aborted) crash();
      else options.signal.addEventListener('abort', crash, { once: true });
    }
  }

  /** The subscription id. */
  get name(): string {
    return this.#options.name;
  }

  /** The last position committed by this instance (`undefined` before its first batch). */
  get position(): Position | undefined {
    return this.#position;
  }

  /** True while this instance holds the lease (always, without a lock) and follows the log. */
  get active(): boolean {
    return this.#active;
  }

  /** Starts following the log in the background. Calling it again does nothing. */
  start(): void {
    this.#running ??= this.#run();
  }

  /**
   * Stops after the batch in progress is handled and its checkpoint stored, releases the lease and
   * returns. Safe to call more than once.
   */
  async stop(): Promise<void> {
    this.#halt.abort();
    await this.#running;
  }

  /**
   * Forgets the checkpoint, so the next `start()` replays the log from the beginning (used by
   * `rebuildProjection`). Refused while the projection runs.
   */
  async reset(): Promise<void> {
    if (this.#running) {
      throw new InvalidArgumentError('projection', `"${this.name}" is running; reset it before start().`);
    }
    await this.#options.readModel.reset(this.#options.name);
    this.#position = undefined;
  }

  /**
   * Resolves once this instance has committed a checkpoint at or after `position`. Rejects when the
   * projection stopped on an error no retry can cure (its store was closed).
   */
  waitForPosition(position: Position): Promise<void> {
    if (this.#position !== undefined && this.#position >= position) return Promise.resolve();
    if (this.#failure) return Promise.reject(this.#failure.error);
    return new Promise((resolve, reject) => this.#positionWaiters.push({ position, resolve, reject }));
  }

  /**
   * Resolves when a read that started after this call found no new event (the projection caught
   * up). Rejects when the projection stopped on an error no retry can cure.
   */
  waitForIdle(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure.error);
    return new Promise((resolve, reject) =>
      this.#idleWaiters.push({ afterRead: this.#reads, resolve, reject }),
    );
  }

  /**
   * The error the projection stopped on by itself (a closed event store or projection store), or
   * `undefined` while it runs or after a `stop()`.
   */
  get failure(): unknown {
    return this.#failure?.error;
  }

  /** The events this projection parked, in position order. */
  listParked(): Promise<ParkedEvent[]> {
    return this.#options.readModel.listParked(this.#options.name);
  }

  /**
   * Handles a parked event again (after the handler was fixed), in a batch that leaves the
   * checkpoint where it is, then forgets it. Rejects with the handler's error, keeping it parked,
   * when it fails again. A running projection also serves retries requested from outside (the web
   * console, `es parked retry --request`) when its read model keeps retry requests.
   */
  retryParked(position: Position): Promise<void> {
    return handleParkedAgain<E, TContext>({
      eventStore: this.#eventStore,
      readModel: this.#options.readModel,
      subscriptionId: this.#options.name,
      position,
      run: (event, context) => this.#handle(event, context),
    });
  }

  get #halted(): boolean {
    return this.#halt.signal.aborted;
  }

  async #run(): Promise<void> {
    const subscription = await this.#subscribe();
    try {
      this.#failures = 0;
      while (!this.#halted) {
        const lease = await this.#acquire();
        if (!lease) {
          await sleep(this.#options.lockRetryMs, this.#halt.signal);
          continue;
        }
        if (lease !== alwaysHeld) this.#telemetry.lease(this.#labels, 'acquired');
        try {
          this.#active = true;
          await this.#follow(lease);
          this.#failures = 0;
        } catch (error) {
          if (this.#crash.signal.aborted) break;
          this.#options.onError(error);
          if (isTerminal(error)) {
            this.#stopWith(error);
            break;
          }
          // Counted from the last successful read: each outage starts again from the shortest delay.
          this.#failures++;
          await sleep(
            backoffDelay(this.#failures, { initialDelayMs: 100, maxDelayMs: 5000 }),
            this.#halt.signal,
          );
        } finally {
          this.#active = false;
          if (lease !== alwaysHeld) {
            this.#telemetry.lease(this.#labels, lease.lost.aborted ? 'lost' : 'released');
            if (!this.#crash.signal.aborted) await lease.release().catch(() => {});
          }
        }
      }
    } finally {
      await subscription?.close().catch(() => {});
    }
  }

  async #subscribe(): Promise<AppendSubscription | undefined> {
    if (!this.#eventStore.capabilities.liveNotifications || !this.#eventStore.subscribeToAppends) return;
    try {
      return await this.#eventStore.subscribeToAppends(() => this.#wake.notify());
    } catch (error) {
      // Polling still delivers every event, only later.
      this.#options.onError(error);
      return undefined;
    }
  }

  async #acquire(): Promise<ProjectionLease | undefined> {
    if (!this.#lock) return alwaysHeld;
    try {
      return await this.#lock.tryAcquire(this.#options.name, this.#crash.signal);
    } catch (error) {
      this.#options.onError(error);
      return undefined;
    }
  }

  async #follow(lease: ProjectionLease): Promise<void> {
    const { readModel, name, batchSize, eventTypes, pollIntervalMs } = this.#options;
    const idleUntil = AbortSignal.any([this.#halt.signal, lease.lost]);
    // Re-read delay while settling after a notification (see SETTLE_FIRST_MS); undefined = poll.
    let settle: number | undefined;
    let notified = this.#wake.generation;
    let checkpoint = await readModel.load(name);
    this.#position = checkpoint;
    while (!this.#halted && !lease.lost.aborted) {
      const generation = this.#wake.generation;
      // A notification arrived since the last read began (maybe while a batch was handled).
      if (generation !== notified) {
        notified = generation;
        settle = SETTLE_FIRST_MS;
      }
      const read = ++this.#reads;
      const batch = await readOneBatch<E>(this.#eventStore, checkpoint ?? 0n, {
        batchSize,
        eventTypes,
        signal: this.#crash.signal,
      });
      this.#telemetry.lag(this.#labels, batch);
      if (batch.length === 0) {
        // The stores answer again: a later outage backs off from the shortest delay.
        this.#failures = 0;
        this.#resolveIdle(read);
        if (this.#retryRequests.due) await this.#serveRetryRequests(checkpoint);
        await this.#wake.wait(generation, settle ?? pollIntervalMs, idleUntil);
        settle = settle !== undefined && settle * 2 < pollIntervalMs ? settle * 2 : undefined;
        continue;
      }
      const last = batch[batch.length - 1]!.position;
      const parked: ParkedEvent[] = [];
      const from = checkpoint;
      const committed = await this.#telemetry.traceBatch(this.#labels, batch, () =>
        readModel.commitBatch(name, from, last, (unit) => this.#handleBatch(batch, unit, parked)),
      );
      this.#crash.signal.throwIfAborted();
      this.#failures = 0;
      // Another instance moved the checkpoint (our lease lapsed): nothing was kept; start again from it.
      checkpoint = committed ? last : await readModel.load(name);
      this.#position = checkpoint;
      if (committed) {
        this.#telemetry.committed(this.#labels, batch.length, parked.length);
        for (const event of parked) this.#onParked?.(event);
      }
      this.#resolvePositions();
      if (this.#retryRequests.due) await this.#serveRetryRequests(checkpoint);
    }
  }

  /** Handles the parked events an operator asked to retry (at most once a second). */
  async #serveRetryRequests(checkpoint: Position | undefined): Promise<void> {
    if (checkpoint === undefined) return;
    await this.#retryRequests.sweep([
      { subscriptionId: this.#options.name, run: (event, context) => this.#handle(event, context) },
    ]);
  }

  async #handleBatch(
    batch: readonly StoredEvent<E>[],
    unit: ProjectionBatch<TContext>,
    parked: ParkedEvent[],
  ): Promise<void> {
    for (const event of batch) {
      this.#crash.signal.throwIfAborted();
      const poison = await this.#handleWithRetry(event, unit);
      if (poison) parked.push(poison);
    }
  }

  /** Handles one event, retrying with backoff; parks it and returns the record when it keeps failing. */
  #handleWithRetry(event: StoredEvent<E>, unit: ProjectionBatch<TContext>): Promise<ParkedEvent | undefined> {
    const { maxAttempts, backoff, name } = this.#options;
    return handleWithRetry({
      event,
      unit,
      run: (context) => this.#handle(event, context),
      subscriptionId: name,
      maxAttempts,
      backoff,
      signal: this.#crash.signal,
      onRetry: () => this.#telemetry.retry(this.#labels),
    });
  }

  #stopWith(error: unknown): void {
    this.#failure = { error };
    this.#halt.abort();
    for (const waiter of this.#positionWaiters.splice(0)) waiter.reject(error);
    for (const waiter of this.#idleWaiters.splice(0)) waiter.reject(error);
  }

  #resolvePositions(): void {
    const position = this.#position;
    if (position === undefined) return;
    const ready = this.#positionWaiters.filter((waiter) => waiter.position <= position);
    this.#positionWaiters = this.#positionWaiters.filter((waiter) => waiter.position > position);
    for (const waiter of ready) waiter.resolve();
  }

  #resolveIdle(read: number): void {
    const ready = this.#idleWaiters.filter((waiter) => waiter.afterRead < read);
    this.#idleWaiters = this.#idleWaiters.filter((waiter) => waiter.afterRead >= read);
    for (const waiter of ready) waiter.resolve();
  }
}

/**
 * After a notification, an empty read is retried after 3, 6, 12... ms (up to the poll interval):
 * a store that keeps the global order gap-free hides a committed event while an older transaction
 * is still running, and that transaction's end (if it was not an append) sends no notification.
 */
const SETTLE_FIRST_MS = 3;

// Without a lock every instance is active; this lease is never lost.
const alwaysHeld: ProjectionLease = { lost: new AbortController().signal, release: async () => {} };
