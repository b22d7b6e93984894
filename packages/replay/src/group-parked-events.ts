import {
  type DomainEvent,
  type EventStore,
  InvalidArgumentError,
  isLeaseLostError,
  type LeaseFence,
  type ParkedEvent,
  type ProjectionStore,
  partitionSubscriptionId,
  type StoredEvent,
} from '@es/core';
import type { ConsumerGroupEventInfo } from './consumer-group-options.js';
import { handleParkedAgain, RetryRequestSweeper } from './parked-retries.js';

/** The subscription ids of a group's partitions: `<group>#0` .. `<group>#<partitions - 1>`. */
export function partitionIdsOf(group: string, partitions: number): string[] {
  return Array.from({ length: partitions }, (_, p) => partitionSubscriptionId(group, p));
}

/**
 * A consumer group's parked events: listing, skipping and retrying them in code, and serving the
 * retry requests operators leave (see `RetryRequestSweeper`) for the partitions a worker holds.
 */
export class GroupParkedEvents<E extends DomainEvent, TContext> {
  readonly #group: string;
  readonly #partitions: number;
  readonly #eventStore: EventStore;
  readonly #readModel: ProjectionStore<TContext>;
  readonly #handle: (event: StoredEvent<E>, context: TContext, info: ConsumerGroupEventInfo) => Promise<void>;
  readonly #requests: RetryRequestSweeper<E, TContext>;

  constructor(options: {
    group: string;
    partitions: number;
    eventStore: EventStore;
    readModel: ProjectionStore<TContext>;
    handle: (event: StoredEvent<E>, context: TContext, info: ConsumerGroupEventInfo) => Promise<void>;
    onError: (error: unknown) => void;
    /** How often retry requests are looked for. */
    everyMs: number;
  }) {
    this.#group = options.group;
    this.#partitions = options.partitions;
    this.#eventStore = options.eventStore;
    this.#readModel = options.readModel;
    this.#handle = options.handle;
    this.#requests = new RetryRequestSweeper<E, TContext>({
      eventStore: options.eventStore,
      readModel: options.readModel,
      onError: options.onError,
      everyMs: options.everyMs,
    });
  }

  /** Every partition's parked events, in position order. */
  async list(): Promise<ParkedEvent[]> {
    const lists = await Promise.all(
      partitionIdsOf(this.#group, this.#partitions).map((id) => this.#readModel.listParked(id)),
    );
    return lists.flat().sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  }

  /** See `ConsumerGroup.skipParked`. */
  async skip(event: Pick<ParkedEvent, 'subscriptionId' | 'position'>): Promise<void> {
    this.#partitionOf(event);
    await this.#readModel.removeParked(event.subscriptionId, event.position);
  }

  /** See `ConsumerGroup.retryParked`. */
  async retry(event: Pick<ParkedEvent, 'subscriptionId' | 'position'>): Promise<void> {
    const partition = this.#partitionOf(event);
    await handleParkedAgain<E, TContext>({
      eventStore: this.#eventStore,
      readModel: this.#readModel,
      subscriptionId: event.subscriptionId,
      position: event.position,
      run: (stored, context) => this.#handle(stored, context, this.#liveInfo(partition)),
    });
  }

  /** Whether retry requests are due to be looked for (checked without yielding). */
  get requestsDue(): boolean {
    return this.#requests.due;
  }

  /**
   * Handles the parked events an operator asked to retry, for `held` partitions (those with a
   * checkpoint), each in a batch checked against the partition's lease. A partition that went to
   * another worker meanwhile is left to its new owner.
   */
  async serveRequests(
    held: readonly { readonly partition: number; readonly fence: LeaseFence }[],
  ): Promise<void> {
    const targets = held.map(({ partition, fence }) => ({
      subscriptionId: partitionSubscriptionId(this.#group, partition),
      fence,
      run: (event: StoredEvent<E>, context: TContext) =>
        this.#handle(event, context, this.#liveInfo(partition)),
    }));
    try {
      await this.#requests.sweep(targets);
    } catch (error) {
      if (!isLeaseLostError(error)) throw error;
    }
  }

  #liveInfo(partition: number): ConsumerGroupEventInfo {
    return { group: this.#group, partition, replaying: false };
  }

  /** The partition of a parked event of this group; refuses another group's. */
  #partitionOf(event: Pick<ParkedEvent, 'subscriptionId' | 'position'>): number {
    const prefix = `${this.#group}#`;
    const partition = Number(event.subscriptionId.slice(prefix.length));
    if (
      !event.subscriptionId.startsWith(prefix) ||
      !Number.isInteger(partition) ||
      partition < 0 ||
      partition >= this.#partitions
    ) {
      throw new InvalidArgumentError(
        'event',
        `"${event.subscriptionId}" is not a partition of group "${this.#group}" (expected "${prefix}0".."${prefix}${this.#partitions - 1}").`,
      );
    }
    return partition;
  }
}
