import type { Snapshot, SnapshotStore } from '@es/core';
import { assertStreamId, assertValidSnapshot } from '@es/core/adapter';
import type { Collection } from 'mongodb';
import { isDuplicateKeyError } from '../connection/mongo-errors.js';
import { SideCollection, type SideCollectionOptions } from '../connection/side-collection.js';
import { RAW_READ } from '../events/event-document.js';
import type { MongoMigrationReport } from '../schema/schema.js';
import { fromSnapshotDocument, type SnapshotDocument, toSnapshotDocument } from './snapshot-document.js';

/** Options of {@link MongoSnapshotStore}: `connection` (a MongoClient or a connection string) and more. */
export interface MongoSnapshotStoreOptions extends SideCollectionOptions {
  /** The snapshots collection. Defaults to `"snapshots"`. */
  readonly collection?: string;
  /**
   * Apply the bundled migrations before the first operation. Defaults to `false`: run `migrate()`
   * as a deployment step; a store used before that fails with `StoreNotMigratedError`.
   */
  readonly autoMigrate?: boolean;
}

/**
 * Keeps the latest snapshot of each stream in MongoDB, one document per stream. A save replaces the
 * stored snapshot only when its `aggregateVersion` is at least the stored one, in one atomic
 * conditional write, so a late, older save never replaces a newer snapshot. Works on a standalone
 * server as well as a replica set.
 *
 * @example
 * const snapshots = new MongoSnapshotStore({ connection: client, database: 'shop' });
 */
export class MongoSnapshotStore implements SnapshotStore {
  readonly #side: SideCollection<SnapshotDocument>;
  readonly #snapshots: Collection<SnapshotDocument>;

  constructor(options: MongoSnapshotStoreOptions) {
    this.#side = new SideCollection(options, 'snapshots', 'snapshots', 'MongoSnapshotStore');
    this.#snapshots = this.#side.collection;
  }

  /** The snapshots collection's name. */
  get collectionName(): string {
    return this.#snapshots.collectionName;
  }

  /** Creates the snapshots collection from `migrations/mongo/` (the package's `migrate()` for it only). Idempotent. */
  migrate(): Promise<MongoMigrationReport> {
    return this.#side.migrate();
  }

  async save(snapshot: Snapshot): Promise<void> {
    assertValidSnapshot(snapshot);
    const document = toSnapshotDocument(snapshot);
    const notNewer = { _id: { $eq: document._id }, aggregateVersion: { $lte: document.aggregateVersion } };
    await this.#side.run('snapshot save', () =>
      this.#snapshots.replaceOne(notNewer, document, { upsert: true }).then(
        () => undefined,
        // The stream has a snapshot the filter did not match: a newer one (keep it), or one inserted
        // concurrently since; replace it only if it is not newer.
        (error: unknown) =>
          isDuplicateKeyError(error)
            ? this.#snapshots.replaceOne(notNewer, document).then(() => undefined)
            : Promise.reject(error),
      ),
    );
  }

  async load(streamId: string): Promise<Snapshot | undefined> {
    assertStreamId(streamId);
    const document = await this.#side.run('snapshot load', () =>
      this.#snapshots.findOne<Record<string, unknown>>({ _id: { $eq: streamId } }, RAW_READ),
    );
    return document ? fromSnapshotDocument(document) : undefined;
  }

  async delete(streamId: string): Promise<void> {
    assertStreamId(streamId);
    await this.#side.run('snapshot delete', () => this.#snapshots.deleteOne({ _id: { $eq: streamId } }));
  }

  /**
   * Closes the client when the store opened it from a connection string. Every later call fails with
   * `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#side.close();
  }
}
