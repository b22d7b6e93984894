import { InvalidArgumentError } from '../errors.js';
import { assertPositiveInteger, assertStreamId } from '../validation.js';

/**
 * Names one lease of one partition of a consumer group. The token grows each time the partition
 * changes owner (or its owner takes it again after it lapsed), so a write carrying an older token
 * is recognised as late and refused.
 */
export interface LeaseFence {
  readonly group: string;
  readonly partition: number;
  /** The fencing token the lease was granted with. */
  readonly token: bigint;
}

/** One partition's lease as the store holds it. */
export interface PartitionLease extends LeaseFence {
  /** The worker holding it; `undefined` once it was released. */
  readonly owner: string | undefined;
  /** When it lapses unless renewed (the store's clock). */
  readonly expiresAt: Date;
}

/** A worker that has joined a group and keeps its membership alive. */
export interface ConsumerGroupMember {
  readonly workerId: string;
  readonly expiresAt: Date;
}

/** What a lease store knows of a group: its size, its live members and its partitions' leases. */
export interface ConsumerGroupDescription {
  readonly group: string;
  /** The partition count the group was created with; `undefined` for a group never joined. */
  readonly partitions: number | undefined;
  /** Members whose membership has not lapsed, by worker id. */
  readonly members: readonly ConsumerGroupMember[];
  /** Every partition's lease (held, lapsed or released), by partition. */
  readonly leases: readonly PartitionLease[];
}

/**
 * Where the workers of consumer groups record membership and partition leases: a table (PostgreSQL)
 * or a collection (MongoDB) shared by every process, timed by the store's clock. A partition is
 * held by one worker at a time; a holder renews its lease, and a lease that is not renewed lapses,
 * so another worker may take the partition over with a larger fencing token. Nothing here is tied
 * to a session or a connection, so it works through connection poolers.
 *
 * A `ProjectionStore` given a `LeaseFence` checks it in the transaction that commits a batch: a
 * worker whose lease lapsed cannot commit.
 */
export interface PartitionLeaseStore {
  /**
   * Joins `group` as `workerId` or renews the membership for `ttlMs`, and returns the ids of the
   * live members, sorted. The first worker fixes the group's partition count; joining with another
   * count is refused with `InvalidArgumentError` (reset the group to change it).
   */
  heartbeat(group: string, workerId: string, partitions: number, ttlMs: number): Promise<string[]>;
  /** Leaves the group at once (a clean stop): the others rebalance without waiting for expiry. */
  leave(group: string, workerId: string): Promise<void>;
  /**
   * Takes `partition` for `workerId` for `ttlMs` when it is free, lapsed, or already this worker's
   * (then it is renewed and keeps its token). A change of owner, or a lapsed lease taken again,
   * gets a larger token. `undefined` while another worker's lease is alive.
   */
  acquire(
    group: string,
    partition: number,
    workerId: string,
    ttlMs: number,
  ): Promise<PartitionLease | undefined>;
  /** Extends the lease for `ttlMs` if it is still `fence` and has not lapsed; false otherwise. */
  renew(fence: LeaseFence, ttlMs: number): Promise<boolean>;
  /** Whether the lease is still `fence` and has not lapsed. */
  isHeld(fence: LeaseFence): Promise<boolean>;
  /** Gives the partition up (a hand-off): free for the next worker at once. No-op if no longer held. */
  release(fence: LeaseFence): Promise<void>;
  /** The group's partition count, live members and leases, for status views. */
  describe(group: string): Promise<ConsumerGroupDescription>;
  /** Forgets the group's members and leases (tokens keep growing if it is joined again). */
  reset(group: string): Promise<void>;
}

/**
 * The partition of a consumer group an event belongs to: FNV-1a (32-bit) of the key's UTF-8 bytes,
 * modulo `partitions`. Stable across processes, versions and languages, so every worker agrees on
 * it; the key is the stream id unless the group is told otherwise, which keeps each stream's
 * events in one partition and so in order.
 *
 * @example
 * partitionOf('account-42', 8); // the same number in every process
 */
export function partitionOf(key: string, partitions: number): number {
  assertPositiveInteger(partitions, 'partitions');
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** The checkpoint and parked-event id of one partition of a consumer group: `<group>#<partition>`. */
export function partitionSubscriptionId(group: string, partition: number): string {
  return `${group}#${partition}`;
}

/** Checks the arguments every `PartitionLeaseStore` method takes; for store adapters. */
export function assertLeaseArguments(
  group: string,
  partition?: number,
  ttlMs?: number,
  workerId?: string,
): void {
  assertStreamId(group, 'consumer group');
  if (partition !== undefined && (!Number.isSafeInteger(partition) || partition < 0)) {
    throw new InvalidArgumentError('partition', `expected an integer >= 0, got ${String(partition)}.`);
  }
  if (ttlMs !== undefined) assertPositiveInteger(ttlMs, 'ttlMs');
  if (workerId !== undefined) assertStreamId(workerId, 'worker id');
}

/** Refuses a partition count other than the one a group was created with. */
export function assertSamePartitionCount(group: string, existing: number | undefined, given: number): void {
  if (existing !== undefined && existing !== given) {
    throw new InvalidArgumentError(
      'partitions',
      `consumer group "${group}" has ${existing} partitions, not ${given}: each partition keeps its own checkpoint, ` +
        'so the count cannot change under running workers. Use the same count, or reset the group and rebuild it with the new one.',
    );
  }
}

interface LeaseRecord {
  owner: string | undefined;
  token: bigint;
  expiresAt: number;
}

interface GroupRecord {
  partitions: number;
  members: Map<string, number>;
  leases: Map<number, LeaseRecord>;
}

/**
 * Consumer-group leases in process memory: for tests, and for several workers in one process.
 * Across processes use a database's (e.g. `PostgresPartitionLeaseStore` of @es/store-postgres).
 *
 * @example
 * const leases = new InMemoryPartitionLeaseStore();
 * const group = new ConsumerGroup({ name: 'stock', partitions: 4, eventStore, leases, handler });
 */
export class InMemoryPartitionLeaseStore implements PartitionLeaseStore {
  readonly #groups = new Map<string, GroupRecord>();
  // Tokens outlive reset(): a group joined again never reuses a token.
  readonly #lastTokens = new Map<string, bigint>();

  async heartbeat(group: string, workerId: string, partitions: number, ttlMs: number): Promise<string[]> {
    assertLeaseArguments(group, undefined, ttlMs, workerId);
    assertPositiveInteger(partitions, 'partitions');
    const record = this.#groups.get(group) ?? { partitions, members: new Map(), leases: new Map() };
    assertSamePartitionCount(group, record.partitions, partitions);
    this.#groups.set(group, record);
    const now = Date.now();
    record.members.set(workerId, now + ttlMs);
    return [...record.members]
      .filter(([, expiresAt]) => expiresAt > now)
      .map(([id]) => id)
      .sort();
  }

  async leave(group: string, workerId: string): Promise<void> {
    assertLeaseArguments(group, undefined, undefined, workerId);
    this.#groups.get(group)?.members.delete(workerId);
  }

  async acquire(
    group: string,
    partition: number,
    workerId: string,
    ttlMs: number,
  ): Promise<PartitionLease | undefined> {
    assertLeaseArguments(group, partition, ttlMs, workerId);
    const record = this.#groups.get(group);
    if (!record) {
      throw new InvalidArgumentError('consumer group', `"${group}" has no members: call heartbeat() first.`);
    }
    if (partition >= record.partitions) {
      throw new InvalidArgumentError(
        'partition',
        `group "${group}" has partitions 0..${record.partitions - 1}.`,
      );
    }
    const now = Date.now();
    const lease = record.leases.get(partition);
    const alive = lease !== undefined && lease.owner !== undefined && lease.expiresAt > now;
    if (alive && lease.owner !== workerId) return undefined;
    const key = `${group}#${partition}`;
    const token = alive ? lease.token : (this.#lastTokens.get(key) ?? 0n) + 1n;
    this.#lastTokens.set(key, token);
    const next: LeaseRecord = { owner: workerId, token, expiresAt: now + ttlMs };
    record.leases.set(partition, next);
    return { group, partition, owner: workerId, token, expiresAt: new Date(next.expiresAt) };
  }

  async renew(fence: LeaseFence, ttlMs: number): Promise<boolean> {
    assertLeaseArguments(fence.group, fence.partition, ttlMs);
    const lease = this.#live(fence);
    if (!lease) return false;
    lease.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async isHeld(fence: LeaseFence): Promise<boolean> {
    assertLeaseArguments(fence.group, fence.partition);
    return this.#live(fence) !== undefined;
  }

  async release(fence: LeaseFence): Promise<void> {
    assertLeaseArguments(fence.group, fence.partition);
    const lease = this.#live(fence);
    if (lease) lease.owner = undefined;
  }

  async describe(group: string): Promise<ConsumerGroupDescription> {
    assertLeaseArguments(group);
    const record = this.#groups.get(group);
    const now = Date.now();
    return {
      group,
      partitions: record?.partitions,
      members: [...(record?.members ?? [])]
        .filter(([, expiresAt]) => expiresAt > now)
        .map(([workerId, expiresAt]) => ({ workerId, expiresAt: new Date(expiresAt) }))
        .sort((a, b) => (a.workerId < b.workerId ? -1 : 1)),
      leases: [...(record?.leases ?? [])]
        .sort(([a], [b]) => a - b)
        .map(([partition, lease]) => ({
          group,
          partition,
          owner: lease.owner,
          token: lease.token,
          expiresAt: new Date(lease.expiresAt),
        })),
    };
  }

  async reset(group: string): Promise<void> {
    assertLeaseArguments(group);
    this.#groups.delete(group);
  }

  #live(fence: LeaseFence): LeaseRecord | undefined {
    const lease = this.#groups.get(fence.group)?.leases.get(fence.partition);
    if (!lease || lease.owner === undefined || lease.token !== fence.token || lease.expiresAt <= Date.now()) {
      return undefined;
    }
    return lease;
  }
}
