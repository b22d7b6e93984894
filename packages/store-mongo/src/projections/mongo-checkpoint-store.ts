import type { CheckpointStore, Position } from '@es/core';
import { assertPosition, assertStreamId } from '@es/core/adapter';
import type { Collection, Long } from 'mongodb';
import { isDuplicateKeyError } from '../connection/mongo-errors.js';
import { SideCollection, type SideCollectionOptions } from '../connection/side-collection.js';
import { readPosition, toBsonPosition } from '../events/bson-values.js';
import { RAW_READ } from '../events/event-document.js';
import type { MongoMigrationReport } from '../schema/schema.js';

/** How a checkpoint is stored: `_id` = subscription id, the position as an Int64. */
export interface CheckpointDocument {
  _id: string;
  position: Long;
  updatedAt: Date;
}

/** Options of {@link MongoCheckpointStore}: `connection` (a MongoClient or a connection string) and more. */
export interface MongoCheckpointStoreOptions extends SideCollectionOptions {
  /** The checkpoints collection. Defaults to `"checkpoints"`. */
  readonly collection?: string;
  /**
   * Apply the bundled migrations before the first operation. Defaults to `false`: run `migrate()`
   * as a deployment step; a store used before that fails with `StoreNotMigratedError`.
   */
  readonly autoMigrate?: boolean;
}

/**
 * Remembers in MongoDB how far each subscription has read the global log: one document per
 * subscription, the position as an exact Int64. `saveIf` is an atomic compare-and-set, so a
 * follower that lost its lease cannot move a checkpoint backwards.
 *
 * @example
 * const checkpoints = new MongoCheckpointStore({ connection: client, database: 'shop' });
 * await checkpoints.save('balances', event.position);
 */
export class MongoCheckpointStore implements CheckpointStore {
  readonly #side: SideCollection<CheckpointDocument>;
  readonly #checkpoints: Collection<CheckpointDocument>;

  constructor(options: MongoCheckpointStoreOptions) {
    this.#side = new SideCollection(options, 'checkpoints', 'checkpoints', 'MongoCheckpointStore');
    this.#checkpoints = this.#side.collection;
  }

  /** The checkpoints collection's name. */
  get collectionName(): string {
    return this.#checkpoints.collectionName;
  }

  /** Creates the checkpoints collection from `migrations/mongo/` (the package's `migrate()` for it only). Idempotent. */
  migrate(): Promise<MongoMigrationReport> {
    return this.#side.migrate();
  }

  async load(subscriptionId: string): Promise<Position | undefined> {
    assertStreamId(subscriptionId, 'subscription id');
    const document = await this.#run('checkpoint load', () =>
      this.#checkpoints.findOne({ _id: { $eq: subscriptionId } }, RAW_READ),
    );
    return document ? readPosition(document.position, 'position') : undefined;
  }

  async save(subscriptionId: string, position: Position): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    assertPosition(position);
    const set = () =>
      this.#checkpoints.updateOne(
        { _id: { $eq: subscriptionId } },
        { $set: { position: toBsonPosition(position), updatedAt: new Date() } },
        { upsert: true },
      );
    // Two first saves racing may both try to insert; the loser's retry finds the document.
    await this.#run('checkpoint save', () =>
      set().catch((error) => (isDuplicateKeyError(error) ? set() : Promise.reject(error))),
    );
  }

  async saveIf(subscriptionId: string, expected: Position | undefined, position: Position): Promise<boolean> {
    assertStreamId(subscriptionId, 'subscription id');
    if (expected !== undefined) assertPosition(expected, 'expected position');
    assertPosition(position);
    const updatedAt = new Date();
    if (expected === undefined) {
      return this.#run('checkpoint saveIf', () =>
        this.#checkpoints
          .insertOne({ _id: subscriptionId, position: toBsonPosition(position), updatedAt })
          .then(
            () => true,
            (error: unknown) => (isDuplicateKeyError(error) ? false : Promise.reject(error)),
          ),
      );
    }
    const result = await this.#run('checkpoint saveIf', () =>
      this.#checkpoints.updateOne(
        { _id: { $eq: subscriptionId }, position: { $eq: toBsonPosition(expected) } },
        { $set: { position: toBsonPosition(position), updatedAt } },
      ),
    );
    return result.matchedCount === 1;
  }

  async reset(subscriptionId: string): Promise<void> {
    assertStreamId(subscriptionId, 'subscription id');
    await this.#run('checkpoint reset', () => this.#checkpoints.deleteOne({ _id: { $eq: subscriptionId } }));
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
