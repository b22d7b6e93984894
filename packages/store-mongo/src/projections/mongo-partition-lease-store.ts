import {
  type ConsumerGroupDescription,
  type ConsumerGroupMember,
  InvalidArgumentError,
  type LeaseFence,
  type PartitionLease,
  type PartitionLeaseStore,
} from '@es/core';
import { assertLeaseArguments, assertPositiveInteger, assertSamePartitionCount } from '@es/core/adapter';
import { type Collection, type Document, type Filter, Int32, Long } from 'mongodb';
import { isDuplicateKeyError } from '../connection/mongo-errors.js';
import { SideCollection, type SideCollectionOptions } from '../connection/side-collection.js';
import { readDate, readPosition, readSafeInteger, readString } from '../events/bson-values.js';
import { RAW_READ } from '../events/event-document.js';
import type { MongoMigrationReport } from '../schema/schema.js';

/**
 * A document of the consumer-groups collection: a group (its partition count), a member (its
 * expiry) or a partition's lease (owner, fencing token, expiry), told apart by `kind`. Every time
 * in it is the server's (`$$NOW`), never a worker's clock.
 */
export interface ConsumerGroupDocument {
  _id: ConsumerGroupKey;
  group: string;
  kind: 'group' | 'member' | 'lease';
  /** Group: the partition count it was created with. */
  partitions?: Int32;
  /** Member: its worker id. */
  worker?: string;
  /** Lease: its partition. */
  partition?: Int32;
  /** Lease: the holder; `null` once released or reset. */
  owner?: string | null;
  /** Lease: the fencing token, an Int64 that grows with each new holder. */
  token?: Long;
  /** Member and lease: when it lapses unless renewed. */
  expiresAt?: Date;
  /** Lease: when a projection batch fenced by it last committed. */
  lastCommitAt?: Date;
}

/** The `_id` of a consumer-groups document: `{ group, kind }` plus the worker or partition it is about. */
export interface ConsumerGroupKey {
  readonly group: string;
  readonly kind: 'group' | 'member' | 'lease';
  readonly worker?: string;
  readonly partition?: Int32;
}

/** Options of {@link MongoPartitionLeaseStore}: `connection` (a MongoClient or a connection string) and more. */
export interface MongoPartitionLeaseStoreOptions extends SideCollectionOptions {
  /** The consumer-groups collection. Defaults to `"consumer_groups"`. */
  readonly collection?: string;
  /**
   * Apply the bundled migrations before the first operation. Defaults to `false`: run `migrate()`
   * as a deployment step; a store used before that fails with `StoreNotMigratedError`.
   */
  readonly autoMigrate?: boolean;
}

const LONG_MAX = 2n ** 63n - 1n;

/** The `_id` of a group's document. */
export const groupKey = (group: string): ConsumerGroupKey => ({ group, kind: 'group' });
/** The `_id` of a member's document. */
export const memberKey = (group: string, worker: string): ConsumerGroupKey => ({
  group,
  kind: 'member',
  worker,
});
/** The `_id` of a partition's lease document. */
export const leaseKey = (group: string, partition: number): ConsumerGroupKey => ({
  group,
  kind: 'lease',
  partition: new Int32(partition),
});

// Values from callers go into pipelines as literals: a worker id such as "$owner" must not be read
// as a field path.
const literal = (value: unknown): Document => ({ $literal: value });
const expiresIn = (ttlMs: number): Document => ({ $add: ['$$NOW', ttlMs] });
const alive: Document = { $gt: ['$expiresAt', '$$NOW'] };
const ownedBy = (workerId: string): Document => ({ $eq: ['$owner', literal(workerId)] });

/** Checks a fence's fields (group, partition, a 64-bit token); throws `InvalidArgumentError`. */
export function assertFence(fence: LeaseFence, ttlMs?: number): void {
  if (typeof fence !== 'object' || fence === null) {
    throw new InvalidArgumentError('fence', 'expected a lease fence { group, partition, token }.');
  }
  assertLeaseArguments(fence.group, fence.partition, ttlMs);
  if (typeof fence.token !== 'bigint' || fence.token < 1n || fence.token > LONG_MAX) {
    throw new InvalidArgumentError(
      'fence.token',
      `expected the bigint token acquire() returned, got ${String(fence.token)}.`,
    );
  }
}

/**
 * The filter that matches a lease document only while `fence` holds it: same token, an owner, not
 * lapsed by the server's clock. Shared by renew/isHeld/release and the projection store's fence.
 */
export function heldLeaseFilter(fence: LeaseFence): Filter<ConsumerGroupDocument> {
  return {
    _id: { $eq: leaseKey(fence.group, fence.partition) },
    owner: { $type: 'string' },
    token: { $eq: Long.fromBigInt(fence.token) },
    $expr: alive,
  };
}

/**
 * Consumer-group membership and partition leases in a MongoDB collection, shared by every worker
 * process. Time is the server's: expiries are computed and compared with `$$NOW`, so clocks that
 * disagree between workers do not matter. Taking a partition is one conditional update of its lease
 * document (free, lapsed by the server's clock, or already this worker's), atomic on one document,
 * so among racing workers exactly one wins. Tokens are Int64 that grow with every new holder and
 * survive `reset()`. Single-document writes only: any topology works,
 * standalone included (the fenced `MongoProjectionStore` needs a replica set).
 *
 * @example
 * const leases = new MongoPartitionLeaseStore({ connection: client, database: 'shop' });
 * const members = await leases.heartbeat('stock', workerId, 8, 15_000);
 * const lease = await leases.acquire('stock', 3, workerId, 15_000); // undefined while another holds it
 */
export class MongoPartitionLeaseStore implements PartitionLeaseStore {
  readonly #side: SideCollection<ConsumerGroupDocument>;
  readonly #groups: Collection<ConsumerGroupDocument>;

  constructor(options: MongoPartitionLeaseStoreOptions) {
    this.#side = new SideCollection(options, 'leases', 'consumer_groups', 'MongoPartitionLeaseStore');
    this.#groups = this.#side.collection;
  }

  /** The consumer-groups collection's name. */
  get collectionName(): string {
    return this.#groups.collectionName;
  }

  /** Creates the consumer-groups collection and its index (the package's `migrate()` for it only). Idempotent. */
  migrate(): Promise<MongoMigrationReport> {
    return this.#side.migrate();
  }

  async heartbeat(group: string, workerId: string, partitions: number, ttlMs: number): Promise<string[]> {
    assertLeaseArguments(group, undefined, ttlMs, workerId);
    assertPositiveInteger(partitions, 'partitions');
    return this.#run(`heartbeat of "${workerId}" in consumer group "${group}"`, async () => {
      const record = await retryDuplicate(() =>
        this.#groups.findOneAndUpdate(
          { _id: { $eq: groupKey(group) } },
          { $setOnInsert: { group, kind: 'group', partitions: new Int32(partitions) } },
          { upsert: true, returnDocument: 'after', ...RAW_READ },
        ),
      );
      assertSamePartitionCount(group, readSafeInteger(record?.partitions, 'partitions'), partitions);
      await retryDuplicate(() =>
        this.#groups.updateOne(
          { _id: { $eq: memberKey(group, workerId) } },
          [
            {
              $set: {
                group: literal(group),
                kind: 'member',
                worker: literal(workerId),
                expiresAt: expiresIn(ttlMs),
              },
            },
          ],
          { upsert: true },
        ),
      );
      // Members that stopped without leaving are dropped once lapsed, so the collection stays small.
      await this.#groups.deleteMany({ group: { $eq: group }, kind: 'member', $expr: { $not: [alive] } });
      const members = await this.#groups
        .find(
          { group: { $eq: group }, kind: 'member', $expr: alive },
          { projection: { worker: 1 }, ...RAW_READ },
        )
        .toArray();
      // Sorted here, as JavaScript compares strings (the server compares UTF-8 bytes).
      return members.map((member) => readString(member.worker, 'worker')).sort();
    });
  }

  async leave(group: string, workerId: string): Promise<void> {
    assertLeaseArguments(group, undefined, undefined, workerId);
    await this.#run(`leave consumer group "${group}"`, () =>
      this.#groups.deleteOne({ _id: { $eq: memberKey(group, workerId) } }),
    );
  }

  async acquire(
    group: string,
    partition: number,
    workerId: string,
    ttlMs: number,
  ): Promise<PartitionLease | undefined> {
    assertLeaseArguments(group, partition, ttlMs, workerId);
    return this.#run(`acquire partition ${partition} of consumer group "${group}"`, async () => {
      const record = await this.#groups.findOne({ _id: { $eq: groupKey(group) } }, RAW_READ);
      if (!record) {
        throw new InvalidArgumentError(
          'consumer group',
          `"${group}" has no members: call heartbeat() first.`,
        );
      }
      const count = readSafeInteger(record.partitions, 'partitions');
      if (partition >= count) {
        throw new InvalidArgumentError('partition', `group "${group}" has partitions 0..${count - 1}.`);
      }
      const lease = leaseKey(group, partition);
      const take = () =>
        this.#groups.findOneAndUpdate(
          {
            _id: { $eq: lease },
            // Free (released or reset), lapsed by the server's clock, or already this worker's.
            $expr: {
              $or: [{ $eq: [{ $ifNull: ['$owner', null] }, null] }, { $not: [alive] }, ownedBy(workerId)],
            },
          },
          [
            {
              // Every expression reads the document as it was before this update.
              $set: {
                owner: literal(workerId),
                token: {
                  // [if, then, else]: kept by its live holder, else the next token.
                  $cond: [
                    { $and: [ownedBy(workerId), alive] },
                    '$token',
                    { $add: ['$token', Long.fromNumber(1)] },
                  ],
                },
                expiresAt: expiresIn(ttlMs),
              },
            },
          ],
          { returnDocument: 'after', ...RAW_READ },
        );
      let taken = await take();
      if (!taken && (await this.#seedLease(group, partition))) taken = await take();
      if (!taken) return undefined;
      return leaseOf(group, partition, taken);
    });
  }

  async renew(fence: LeaseFence, ttlMs: number): Promise<boolean> {
    assertFence(fence, ttlMs);
    const result = await this.#run(`renew the lease of ${describeFence(fence)}`, () =>
      this.#groups.updateOne(heldLeaseFilter(fence), [{ $set: { expiresAt: expiresIn(ttlMs) } }]),
    );
    return result.matchedCount === 1;
  }

  async isHeld(fence: LeaseFence): Promise<boolean> {
    assertFence(fence);
    const found = await this.#run(`check the lease of ${describeFence(fence)}`, () =>
      this.#groups.findOne(heldLeaseFilter(fence), { projection: { _id: 1 }, ...RAW_READ }),
    );
    return found !== null;
  }

  async release(fence: LeaseFence): Promise<void> {
    assertFence(fence);
    await this.#run(`release the lease of ${describeFence(fence)}`, () =>
      this.#groups.updateOne(heldLeaseFilter(fence), [{ $set: { owner: null, expiresAt: '$$NOW' } }]),
    );
  }

  async describe(group: string): Promise<ConsumerGroupDescription> {
    assertLeaseArguments(group);
    const documents = await this.#run(`describe consumer group "${group}"`, () =>
      this.#groups
        .aggregate<ConsumerGroupDocument & { live: boolean }>(
          [{ $match: { group: { $eq: group } } }, { $addFields: { live: alive } }],
          RAW_READ,
        )
        .toArray(),
    );
    const record = documents.find((document) => document.kind === 'group');
    const members: ConsumerGroupMember[] = documents
      .filter((document) => document.kind === 'member' && document.live === true)
      .map((document) => ({
        workerId: readString(document.worker, 'worker'),
        expiresAt: readDate(document.expiresAt, 'expiresAt'),
      }))
      .sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0));
    const leases = documents
      .filter((document) => document.kind === 'lease')
      .map((document) => leaseOf(group, readSafeInteger(document.partition, 'partition'), document))
      .sort((a, b) => a.partition - b.partition);
    return {
      group,
      partitions: record ? readSafeInteger(record.partitions, 'partitions') : undefined,
      members,
      leases,
    };
  }

  async reset(group: string): Promise<void> {
    assertLeaseArguments(group);
    await this.#run(`reset consumer group "${group}"`, async () => {
      // Lease documents stay, without owner, so the tokens keep growing if the group is joined again.
      await this.#groups.updateMany({ group: { $eq: group }, kind: 'lease' }, { $set: { owner: null } });
      await this.#groups.deleteMany({ group: { $eq: group }, kind: { $in: ['group', 'member'] } });
    });
  }

  // MongoDB refuses $expr in the filter of an upsert (code 224), so a partition's first lease is
  // taken in two steps: this creates the free lease document (token 0) if it is missing, then the
  // conditional update takes it, atomically on one document, so racing workers get one winner.
  // True when the document was created here or by a racing worker (the caller tries again).
  async #seedLease(group: string, partition: number): Promise<boolean> {
    try {
      const result = await this.#groups.updateOne(
        { _id: { $eq: leaseKey(group, partition) } },
        {
          $setOnInsert: {
            group,
            kind: 'lease',
            partition: new Int32(partition),
            owner: null,
            token: Long.fromNumber(0),
            expiresAt: new Date(0),
          },
        },
        { upsert: true },
      );
      return result.upsertedCount === 1;
    } catch (error) {
      if (isDuplicateKeyError(error)) return true;
      throw error;
    }
  }

  /**
   * Closes the client when the store opened it from a connection string. Every later call fails with
   * `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#side.close();
  }

  #run<T>(operation: string, action: () => Promise<T>): Promise<T> {
    return this.#side.run(operation, action);
  }
}

function leaseOf(group: string, partition: number, document: ConsumerGroupDocument): PartitionLease {
  return {
    group,
    partition,
    owner:
      document.owner === null || document.owner === undefined
        ? undefined
        : readString(document.owner, 'owner'),
    token: readPosition(document.token, 'token'),
    expiresAt: readDate(document.expiresAt, 'expiresAt'),
  };
}

/** How errors name a fence: `partition 3 of consumer group "stock" (token 7)`. */
export function describeFence(fence: LeaseFence): string {
  return `partition ${fence.partition} of consumer group "${fence.group}" (token ${fence.token})`;
}

// Two first upserts of one document may race; the loser's retry finds the winner's document.
async function retryDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    return write();
  }
}
