import {
  type AppendSubscription,
  backoffDelay,
  type DomainEvent,
  type EventStore,
  isInvalidArgumentError,
  isLeaseLostError,
  isStoreClosedError,
  type LeaseFence,
  type ParkedEvent,
  type PartitionLeaseStore,
  type Position,
  type ProjectionBatch,
  partitionOf,
  partitionSubscriptionId,
  type StoredEvent,
} from '@es/core';
import {
  type ConsumerGroupEventInfo,
  type ConsumerGroupHandler,
  type ConsumerGroupOptions,
  type ResolvedConsumerGroupOptions,
  resolveConsumerGroupOptions,
} from './consumer-group-options.js';
import { GroupParkedEvents, partitionIdsOf } from './group-parked-events.js';
import { handleWithRetry } from './handle-with-retry.js';
import { readOneBatch } from './read-batches.js';
import { ConsumerTelemetry } from './telemetry.js';
import { VersionHandOver } from './version-hand-over.js';
import { sleep, WakeUp } from './wake-up.js';

/** One partition this worker holds. */
interface OwnedPartition {
  readonly partition: number;
  readonly fence: LeaseFence;
  /** The checkpoint stored for the partition. */
  committed: Position | undefined;
  /** How far the worker has read for it: beyond `committed` when batches held none of its events. */
  readTo: Position | undefined;
  /** Set when the group rebalanced the partition to another worker: released at the next boundary. */
  handOff: boolean;
  /** Set when the lease could not be renewed: dropped without a release. */
  lost: boolean;
}

/** A partition as this worker sees it (see `ConsumerGroup.status`). */
export interface OwnedPartitionStatus {
  readonly partition: number;
  /** The lease's fencing token. */
  readonly token: bigint;
  readonly checkpoint: Position | undefined;
}

/** What one worker of a group knows of itself. */
export interface ConsumerGroupWorkerStatus {
  readonly group: string;
  readonly workerId: string;
  /** The live members at the last heartbeat, sorted. */
  readonly members: readonly string[];
  readonly owned: readonly OwnedPartitionStatus[];
  /** Whether the group hands events over as live (false while it shadows a previous version). */
  readonly live: boolean;
}

/** Partitions whose checkpoint lags what was read are stored at least this often. */
const FLUSH_EVERY_MS = 1000;
/** After a notification, an empty read is retried after 3, 6, 12... ms (see Projection). */
const SETTLE_FIRST_MS = 3;

/**
 * A projection (or any subscriber) run by a group of workers in any number of processes. The log
 * is split into `partitions` by a stable hash of each event's key (its stream id by default), so
 * each stream's events stay in order; each partition has its own checkpoint and is owned by one
 * worker at a time through a lease with a fencing token. Workers rebalance as they join and leave:
 * a clean `stop()` hands its partitions over at once, a crashed worker's are taken over when its
 * leases lapse. A worker whose lease lapsed cannot commit: its batch is refused with
 * `LeaseLostError` in the commit's transaction.
 *
 * Each worker reads the log once for all its partitions. With a transactional `readModel` (e.g.
 * `PostgresProjectionStore`), each partition's batch commits the handler's writes, parked events
 * and the checkpoint in one transaction checked against the lease: exactly-once. With
 * `checkpoints`, delivery is at-least-once (see `skipHandledEvents`).
 *
 * @example
 * const group = new ConsumerGroup({
 *   name: 'stock', partitions: 8, eventStore, leases: new PostgresPartitionLeaseStore({ connection: pool }),
 *   readModel: new PostgresProjectionStore({ connection: pool }),
 *   handler: async (event, sql) => { await sql.query({ text: 'UPDATE stock ...', values: [event.streamId] }); },
 * });
 * group.start();
 * // ... on shutdown
 * await group.stop(); // finishes the batch in progress and hands its partitions over
 */
export class ConsumerGroup<E extends DomainEvent = DomainEvent, TContext = void> {
  readonly #options: ResolvedConsumerGroupOptions<E, TContext>;
  readonly #eventStore: EventStore;
  readonly #leases: PartitionLeaseStore;
  readonly #handle: (event: StoredEvent<E>, context: TContext, info: ConsumerGroupEventInfo) => Promise<void>;
  readonly #onParked: ((event: ParkedEvent) => void) | undefined;
  readonly #onRebalance: ((owned: readonly number[]) => void) | undefined;
  readonly #crash = new AbortController();
  readonly #halt = new AbortController();
  readonly #wake = new WakeUp();
  readonly #owned = new Map<number, OwnedPartition>();
  #members: string[] = [];
  #running: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;
  #failures = 0;
  readonly #versions: VersionHandOver;
  #reportedOwned = '';
  readonly #telemetry = new ConsumerTelemetry();
  readonly #parked: GroupParkedEvents<E, TContext>;
  readonly #labelsOf = (partition: number) => () => ({
    'es.consumer.group': this.#options.name,
    'es.partition': partition,
    'es.subscription': partitionSubscriptionId(this.#options.name, partition),
  });

  constructor(options: ConsumerGroupOptions<E, TContext>) {
    this.#options = resolveConsumerGroupOptions(options);
    this.#eventStore = options.eventStore;
    this.#leases = options.leases;
    this.#handle = groupHandlerFunction(options.handler as ConsumerGroupHandler<E, TContext>);
    this.#onParked = options.onParked;
    this.#onRebalance = options.onRebalance;
    this.#versions = new VersionHandOver({
      group: this.#options.name,
      previous: this.#options.previousVersion,
      readModel: this.#options.readModel,
      leases: this.#leases,
    });
    this.#parked = new GroupParkedEvents<E, TContext>({
      group: this.#options.name,
      partitions: this.#options.partitions,
      eventStore: this.#eventStore,
      readModel: this.#options.readModel,
      handle: this.#handle,
      onError: this.#options.onError,
      everyMs: FLUSH_EVERY_MS,
    });
    if (options.signal) {
      const crash = () => {
        this.#crash.abort(options.signal?.reason);
        this.#halt.abort();
        this.#wake.notify();
      };
      if (options.signal.aborted) crash();
      else options.signal.addEventListener('abort', crash, { once: true });
    }
  }

  /** The group's name. */
  get name(): string {
    return this.#options.name;
  }

  /** This worker's id in the group. */
  get workerId(): string {
    return this.#options.workerId;
  }

  /** The partitions this worker holds now, sorted. */
  get ownedPartitions(): number[] {
    return [...this.#owned.keys()].sort((a, b) => a - b);
  }

  /** The error the worker stopped on by itself (a closed store), or `undefined`. */
  get failure(): unknown {
    return this.#failure?.error;
  }

  /** Joins the group and starts working in the background. Calling it again does nothing. */
  start(): void {
    this.#running ??= this.#run();
  }

  /**
   * Stops after the batch in progress is committed, stores the checkpoints of partitions read ahead,
   * releases the partitions and leaves the group, so the other workers take them over at once.
   */
  async stop(): Promise<void> {
    this.#halt.abort();
    this.#wake.notify();
    await this.#running;
  }

  /**
   * Settles when this worker has stopped: after `stop()`, after its `signal` aborted, or on an error
   * no retry can cure (then `failure` holds it). Resolves at once if it was never started.
   */
  stopped(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** This worker's view: members, owned partitions and their checkpoints. */
  status(): ConsumerGroupWorkerStatus {
    return {
      group: this.name,
      workerId: this.workerId,
      members: [...this.#members],
      owned: this.ownedPartitions.map((partition) => {
        const owned = this.#owned.get(partition)!;
        return { partition, token: owned.fence.token, checkpoint: owned.committed };
      }),
      live: this.#versions.live,
    };
  }

  /**
   * Resolves once every partition of the group (whichever worker owns it) has a checkpoint at or
   * after `position`. Rejects when this worker stopped on an error no retry can cure.
   */
  async waitForPosition(position: Position, options: { pollMs?: number } = {}): Promise<void> {
    const pollMs = options.pollMs ?? 50;
    for (;;) {
      if (this.#failure) throw this.#failure.error;
      const checkpoints = await Promise.all(
        partitionIdsOf(this.name, this.#options.partitions).map((id) => this.#options.readModel.load(id)),
      );
      if (checkpoints.every((checkpoint) => checkpoint !== undefined && checkpoint >= position)) return;
      await sleep(pollMs);
    }
  }

  /** The group's parked events, every partition's, in position order. */
  listParked(): Promise<ParkedEvent[]> {
    return this.#parked.list();
  }

  /** Drops a parked event without handling it again (it was judged harmless or handled by hand). */
  skipParked(event: Pick<ParkedEvent, 'subscriptionId' | 'position'>): Promise<void> {
    return this.#parked.skip(event);
  }

  /**
   * Handles a parked event again (after the handler was fixed), in a batch of its partition that
   * leaves the checkpoint where it is, then forgets it. Rejects with the handler's error, keeping
   * it parked, when it fails again. The event is handled after later events of its stream.
   */
  retryParked(event: Pick<ParkedEvent, 'subscriptionId' | 'position'>): Promise<void> {
    return this.#parked.retry(event);
  }

  /**
   * Makes this group (a new version, see `previousVersion`) the live one: waits until every worker
   * of the previous version has stopped (stop them first), then hands over as live every event after
   * the least of the previous version's checkpoints. Returns that position. Every worker of this
   * group, in any process, follows the switch. Events between the previous version's checkpoints of
   * different partitions may see their side effects twice, never none.
   */
  async takeOver(options: { timeoutMs?: number; pollMs?: number } = {}): Promise<Position> {
    const liveFrom = await this.#versions.takeOver(options);
    this.#wake.notify();
    return liveFrom;
  }

  get #halted(): boolean {
    return this.#halt.signal.aborted;
  }

  async #run(): Promise<void> {
    const subscription = await this.#subscribe();
    const coordinating = this.#coordinate();
    try {
      while (!this.#halted) {
        try {
          await this.#consume();
          this.#failures = 0;
        } catch (error) {
          if (this.#crash.signal.aborted) break;
          this.#options.onError(error);
          if (isStoreClosedError(error)) {
            this.#stopWith(error);
            break;
          }
          this.#failures++;
          await sleep(
            backoffDelay(this.#failures, { initialDelayMs: 100, maxDelayMs: 5000 }),
            this.#halt.signal,
          );
        }
      }
    } finally {
      this.#halt.abort();
      await coordinating;
      if (!this.#crash.signal.aborted) await this.#leave();
      await subscription?.close().catch(() => undefined);
    }
  }

  async #subscribe(): Promise<AppendSubscription | undefined> {
    if (!this.#eventStore.capabilities.liveNotifications || !this.#eventStore.subscribeToAppends) return;
    try {
      return await this.#eventStore.subscribeToAppends(() => this.#wake.notify());
    } catch (error) {
      this.#options.onError(error);
      return undefined;
    }
  }

  /** Heartbeats, renews the leases held, hands over what the group gave others, takes what it gave us. */
  async #coordinate(): Promise<void> {
    while (!this.#halted) {
      try {
        await this.#rebalance();
      } catch (error) {
        // A closed store or a refused membership (another partition count) cannot be cured by retrying.
        if (isStoreClosedError(error) || isInvalidArgumentError(error)) {
          this.#options.onError(error);
          this.#stopWith(error);
          return;
        }
        this.#options.onError(error);
      }
      await sleep(this.#options.heartbeatMs, this.#halt.signal);
    }
  }

  async #rebalance(): Promise<void> {
    const { name, workerId, partitions, leaseTtlMs } = this.#options;
    const members = await this.#leases.heartbeat(name, workerId, partitions, leaseTtlMs);
    this.#members = members;
    const index = members.indexOf(workerId);
    // Partition p belongs to the member at p mod (members); every worker computes the same table.
    const mine = (partition: number) => index >= 0 && partition % members.length === index;
    for (const owned of this.#owned.values()) {
      if (owned.lost || owned.handOff) continue;
      if (!mine(owned.partition)) {
        owned.handOff = true;
        continue;
      }
      const renewed = await this.#leases.renew(owned.fence, leaseTtlMs).catch((error: unknown) => {
        this.#options.onError(error);
        // Unknown: keep working; the fence refuses our commits if the lease did lapse.
        return true;
      });
      if (!renewed) owned.lost = true;
    }
    for (let partition = 0; partition < partitions && !this.#halted; partition++) {
      if (!mine(partition) || this.#owned.has(partition)) continue;
      const lease = await this.#leases.acquire(name, partition, workerId, leaseTtlMs);
      if (!lease) continue;
      const fence: LeaseFence = { group: name, partition, token: lease.token };
      let committed: Position | undefined;
      try {
        committed = await this.#options.readModel.load(partitionSubscriptionId(name, partition));
      } catch (error) {
        await this.#leases.release(fence).catch(() => undefined);
        throw error;
      }
      this.#telemetry.lease(this.#labelsOf(partition), 'acquired');
      this.#owned.set(partition, {
        partition,
        fence,
        committed,
        readTo: committed,
        handOff: false,
        lost: false,
      });
    }
    this.#reportOwned();
    this.#wake.notify();
  }

  #reportOwned(): void {
    const owned = this.ownedPartitions.filter(
      (p) => !this.#owned.get(p)!.lost && !this.#owned.get(p)!.handOff,
    );
    const key = owned.join(',');
    if (key === this.#reportedOwned) return;
    this.#reportedOwned = key;
    this.#onRebalance?.(owned);
  }

  /** Reads the log for the partitions held and commits each partition's share, until halted. */
  async #consume(): Promise<void> {
    const { batchSize, eventTypes, pollIntervalMs } = this.#options;
    let settle: number | undefined;
    let notified = this.#wake.generation;
    let lastFlush = Date.now();
    while (!this.#halted) {
      await this.#dropReleased();
      const generation = this.#wake.generation;
      if (generation !== notified) {
        notified = generation;
        settle = SETTLE_FIRST_MS;
      }
      const working = [...this.#owned.values()];
      if (working.length === 0) {
        await this.#wake.wait(generation, pollIntervalMs, this.#halt.signal);
        continue;
      }
      const from = working.reduce<Position>((least, owned) => {
        const at = owned.readTo ?? 0n;
        return at < least ? at : least;
      }, working[0]!.readTo ?? 0n);
      const cap = await this.#versions.readCap();
      const batch =
        cap !== undefined && cap <= from
          ? []
          : await readOneBatch<E>(this.#eventStore, from, {
              batchSize,
              eventTypes,
              toPosition: cap,
              signal: this.#crash.signal,
            });
      if (batch.length === 0) {
        for (const owned of working) this.#telemetry.lag(this.#labelsOf(owned.partition), batch);
        this.#failures = 0;
        // Idle: store the checkpoints read past, but at most once a second, so that following a
        // live log does not cost a commit per partition between every two appends.
        if (Date.now() - lastFlush >= FLUSH_EVERY_MS) {
          await this.#flush(working);
          lastFlush = Date.now();
        }
        if (this.#parked.requestsDue) await this.#serveRetryRequests(working);
        await this.#wake.wait(generation, settle ?? pollIntervalMs, this.#halt.signal);
        settle = settle !== undefined && settle * 2 < pollIntervalMs ? settle * 2 : undefined;
        continue;
      }
      await this.#commitShares(working, batch);
      this.#failures = 0;
      if (Date.now() - lastFlush >= FLUSH_EVERY_MS) {
        await this.#flush(working);
        lastFlush = Date.now();
      }
      if (this.#parked.requestsDue) await this.#serveRetryRequests(working);
    }
    await this.#flush([...this.#owned.values()]);
  }

  /** Splits a batch among the partitions held and commits each share, `concurrency` at a time. */
  async #commitShares(working: OwnedPartition[], batch: readonly StoredEvent<E>[]): Promise<void> {
    const { partitions, partitionKey, concurrency } = this.#options;
    const last = batch[batch.length - 1]!.position;
    const shares = new Map<number, StoredEvent<E>[]>();
    for (const event of batch) {
      const partition = partitionOf(partitionKey(event), partitions);
      const owned = this.#owned.get(partition);
      if (!owned || (owned.readTo !== undefined && event.position <= owned.readTo)) continue;
      const share = shares.get(partition);
      if (share) share.push(event);
      else shares.set(partition, [event]);
    }
    const queue = working.filter((owned) => owned.readTo === undefined || owned.readTo < last);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const lane = async () => {
      while (!failure && next < queue.length) {
        const owned = queue[next++]!;
        const share = shares.get(owned.partition);
        try {
          if (share) await this.#commitShare(owned, share, last);
          // Nothing of this partition in the batch: read past it, stored at the next flush.
          else owned.readTo = last;
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, lane));
    if (failure) throw failure.error;
  }

  async #commitShare(owned: OwnedPartition, share: readonly StoredEvent<E>[], last: Position): Promise<void> {
    if (owned.lost) return;
    const id = partitionSubscriptionId(this.name, owned.partition);
    const parked: ParkedEvent[] = [];
    const labels = this.#labelsOf(owned.partition);
    const commit = () =>
      this.#options.readModel.commitBatch(
        id,
        owned.committed,
        last,
        (unit) => this.#handleShare(owned.partition, id, share, unit, parked),
        owned.fence,
      );
    let committed: boolean;
    try {
      // A flush (no events, only the checkpoint) is not a batch: no span, no lag.
      if (share.length === 0) committed = await commit();
      else {
        this.#telemetry.lag(labels, share);
        committed = await this.#telemetry.traceBatch(labels, share, commit);
      }
    } catch (error) {
      if (isLeaseLostError(error)) {
        owned.lost = true;
        return;
      }
      throw error;
    }
    this.#crash.signal.throwIfAborted();
    if (committed) {
      owned.committed = last;
      owned.readTo = last;
      this.#telemetry.committed(labels, share.length, parked.length);
      for (const event of parked) this.#onParked?.(event);
    } else {
      // Someone else moved the checkpoint: our lease is gone in all but name. Drop the partition.
      owned.lost = true;
    }
  }

  async #handleShare(
    partition: number,
    subscriptionId: string,
    share: readonly StoredEvent<E>[],
    unit: ProjectionBatch<TContext>,
    parked: ParkedEvent[],
  ): Promise<void> {
    for (const event of share) {
      this.#crash.signal.throwIfAborted();
      const info: ConsumerGroupEventInfo = {
        group: this.name,
        partition,
        replaying: this.#versions.replaying(event.position),
      };
      const poison = await this.#handleWithRetry(event, unit, subscriptionId, info);
      if (poison) parked.push(poison);
    }
  }

  #handleWithRetry(
    event: StoredEvent<E>,
    unit: ProjectionBatch<TContext>,
    subscriptionId: string,
    info: ConsumerGroupEventInfo,
  ): Promise<ParkedEvent | undefined> {
    const { maxAttempts, backoff } = this.#options;
    return handleWithRetry({
      event,
      unit,
      run: (context) => this.#handle(event, context, info),
      subscriptionId,
      maxAttempts,
      backoff,
      signal: this.#crash.signal,
      onRetry: () => this.#telemetry.retry(this.#labelsOf(info.partition)),
    });
  }

  /** Serves operators' retry requests for the partitions held with a checkpoint (at most once a second). */
  #serveRetryRequests(working: OwnedPartition[]): Promise<void> {
    return this.#parked.serveRequests(
      working.filter((owned) => !owned.lost && !owned.handOff && owned.committed !== undefined),
    );
  }

  /** Stores the checkpoint of partitions read past their last commit (no events of theirs since). */
  async #flush(working: OwnedPartition[]): Promise<void> {
    for (const owned of working) {
      if (owned.lost || owned.readTo === undefined || owned.readTo === owned.committed) continue;
      if (this.#crash.signal.aborted) return;
      await this.#commitShare(owned, [], owned.readTo);
    }
  }

  /** Releases the partitions rebalanced away (after storing how far they were read) and drops lost ones. */
  async #dropReleased(): Promise<void> {
    let changed = false;
    for (const owned of [...this.#owned.values()]) {
      if (owned.lost) {
        this.#telemetry.lease(this.#labelsOf(owned.partition), 'lost');
        this.#owned.delete(owned.partition);
        changed = true;
      } else if (owned.handOff) {
        await this.#flush([owned]);
        await this.#leases.release(owned.fence).catch((error: unknown) => this.#options.onError(error));
        this.#telemetry.lease(this.#labelsOf(owned.partition), 'released');
        this.#owned.delete(owned.partition);
        changed = true;
      }
    }
    if (changed) this.#reportOwned();
  }

  async #leave(): Promise<void> {
    for (const owned of [...this.#owned.values()]) {
      if (!owned.lost) await this.#leases.release(owned.fence).catch(() => undefined);
      this.#telemetry.lease(this.#labelsOf(owned.partition), owned.lost ? 'lost' : 'released');
      this.#owned.delete(owned.partition);
    }
    await this.#leases.leave(this.name, this.workerId).catch(() => undefined);
    this.#reportOwned();
  }

  #stopWith(error: unknown): void {
    this.#failure ??= { error };
    this.#halt.abort();
    this.#wake.notify();
  }
}

/** The handler as a function, whichever form it was given in. */
function groupHandlerFunction<E extends DomainEvent, TContext>(
  handler: ConsumerGroupHandler<E, TContext>,
): (event: StoredEvent<E>, context: TContext, info: ConsumerGroupEventInfo) => Promise<void> {
  if (typeof handler === 'function') {
    return async (event, context, info) => void (await handler(event, context, info));
  }
  if (handler && typeof handler.handleEvent === 'function') {
    return async (event, context, info) => void (await handler.handleEvent(event, context, info));
  }
  throw new TypeError('Invalid handler: expected a function or an object with a handleEvent method.');
}
