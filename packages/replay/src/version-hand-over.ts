import {
  InvalidArgumentError,
  type PartitionLeaseStore,
  type Position,
  type ProjectionStore,
  partitionSubscriptionId,
} from '@es/core';
import type { ResolvedConsumerGroupOptions } from './consumer-group-options.js';
import { sleep } from './wake-up.js';

type PreviousVersion = NonNullable<ResolvedConsumerGroupOptions<never, unknown>['previousVersion']>;

/**
 * The blue/green switch of a consumer group that replaces a previous version: until `takeOver`,
 * the group shadows the previous version (reads no further than its least checkpoint, and calls
 * its events replays); after it, every event past the switch position is live. The position is
 * stored in the read model under `<group>#live-from`, so every worker of the group, in any
 * process, follows the switch.
 */
export class VersionHandOver {
  readonly #group: string;
  readonly #previous: PreviousVersion | undefined;
  readonly #readModel: Pick<ProjectionStore<unknown>, 'load' | 'commitBatch'>;
  readonly #leases: PartitionLeaseStore;
  // The position after which the group hands events over as live, once known.
  #liveFrom: Position | undefined;

  constructor(options: {
    group: string;
    previous: PreviousVersion | undefined;
    readModel: Pick<ProjectionStore<unknown>, 'load' | 'commitBatch'>;
    leases: PartitionLeaseStore;
  }) {
    this.#group = options.group;
    this.#previous = options.previous;
    this.#readModel = options.readModel;
    this.#leases = options.leases;
  }

  /** Whether the group hands events over as live (always, when it replaces no previous version). */
  get live(): boolean {
    return this.#previous === undefined || this.#liveFrom !== undefined;
  }

  /** Whether the event at `position` is a replay: shadowed, or before the switch. */
  replaying(position: Position): boolean {
    if (!this.#previous) return false;
    return this.#liveFrom === undefined || position <= this.#liveFrom;
  }

  /**
   * While shadowing: how far the group may read (the previous version's least checkpoint).
   * Undefined once live, which it learns from the stored switch position.
   */
  async readCap(): Promise<Position | undefined> {
    const previous = this.#previous;
    if (!previous || this.#liveFrom !== undefined) return undefined;
    const switched = await this.#readModel.load(this.#markerId());
    if (switched !== undefined) {
      this.#liveFrom = switched;
      return undefined;
    }
    return this.#leastCheckpoint(previous);
  }

  /** See `ConsumerGroup.takeOver`. */
  async takeOver(options: { timeoutMs?: number; pollMs?: number } = {}): Promise<Position> {
    const previous = this.#previous;
    if (!previous) {
      throw new InvalidArgumentError(
        'previousVersion',
        `group "${this.#group}" replaces no previous version.`,
      );
    }
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const description = await this.#leases.describe(previous.name);
      const now = new Date();
      const held = description.leases.filter((lease) => lease.owner !== undefined && lease.expiresAt > now);
      if (description.members.length === 0 && held.length === 0) break;
      if (Date.now() > deadline) {
        throw new InvalidArgumentError(
          'previousVersion',
          `group "${previous.name}" still has workers (${description.members.map((m) => m.workerId).join(', ') || 'leases held'}): stop them before takeOver().`,
        );
      }
      await sleep(options.pollMs ?? 200);
    }
    const liveFrom = await this.#leastCheckpoint(previous);
    const marker = this.#markerId();
    // First writer wins: a second takeOver (another process) adopts the stored position.
    const stored = await this.#readModel.commitBatch(marker, undefined, liveFrom, async () => undefined);
    this.#liveFrom = stored ? liveFrom : await this.#readModel.load(marker);
    return this.#liveFrom ?? liveFrom;
  }

  #markerId(): string {
    return `${this.#group}#live-from`;
  }

  /** The least of the previous version's partition checkpoints (a partition without one counts as 0). */
  async #leastCheckpoint(previous: PreviousVersion): Promise<Position> {
    const checkpoints = await Promise.all(
      Array.from({ length: previous.partitions }, (_, p) =>
        previous.load(partitionSubscriptionId(previous.name, p)),
      ),
    );
    let least: Position | undefined;
    for (const checkpoint of checkpoints) {
      const at = checkpoint ?? 0n;
      if (least === undefined || at < least) least = at;
    }
    return least ?? 0n;
  }
}
