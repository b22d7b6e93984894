import type { Snapshot, SnapshotStore } from '@es/core';
import { assertStreamId, assertValidSnapshot } from '@es/core/adapter';
import type { Collection } from 'mongodb';
import {
  type MongoConnection,
  type MongoConnectionOptions,
  openConnection,
  StoreLifecycle,
} from '../connection/connection.js';
import { isDuplicateKeyError, wrapDriverError } from '../connection/mongo-errors.js';
import { onFirstUse } from '../connection/ready.js';
import { RAW_READ } from '../events/event-document.js';
import { assertBooleanOption, assertCollectionName, optionOr } from '../schema/names.js';
import { applyMigrations, assertMigrated, type MongoMigrationReport, reportOf } from '../schema/schema.js';
import { fromSnapshotDocument, type SnapshotDocument, toSnapshotDocument } from './snapshot-document.js';

/** Options of {@link MongoSnapshotStore}: `connection` (a MongoClient or a connection string) and more. */
export interface MongoSnapshotStoreOptions extends MongoConnectionOptions {
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
  readonly #connection: MongoConnection;
  readonly #snapshots: Collection<SnapshotDocument>;
  readonly #whenReady: () => Promise<void>;
  readonly #life = new StoreLifecycle('MongoSnapshotStore');

  constructor(options: MongoSnapshotStoreOptions) {
    const collection = optionOr(options.collection, 'snapshots');
    assertCollectionName(collection);
    this.#connection = openConnection(options);
    this.#snapshots = this.#connection.db.collection<SnapshotDocument>(collection);
    const auto = optionOr(options.autoMigrate, false);
    assertBooleanOption(auto, 'autoMigrate');
    this.#whenReady = this.#life.guard(
      onFirstUse(async () => {
        if (auto) await this.migrate();
        else
          await assertMigrated(
            this.#connection.db,
            { snapshots: this.#snapshots.collectionName },
            'MongoSnapshotStore',
          );
      }),
    );
  }

  /** The snapshots collection's name. */
  get collectionName(): string {
    return this.#snapshots.collectionName;
  }

  /** Creates the snapshots collection from `migrations/mongo/` (the package's `migrate()` for it only). Idempotent. */
  async migrate(): Promise<MongoMigrationReport> {
    this.#life.assertOpen();
    return reportOf(
      await applyMigrations(this.#connection.db, { snapshots: this.#snapshots.collectionName }),
    );
  }

  async save(snapshot: Snapshot): Promise<void> {
    assertValidSnapshot(snapshot);
    const document = toSnapshotDocument(snapshot);
    const notNewer = { _id: { $eq: document._id }, aggregateVersion: { $lte: document.aggregateVersion } };
    await this.#whenReady();
    try {
      await this.#snapshots.replaceOne(notNewer, document, { upsert: true });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw wrapDriverError(error, 'snapshot save');
      // The stream has a snapshot the filter did not match: a newer one (keep it), or one inserted
      // concurrently since; replace it only if it is not newer.
      await this.#snapshots
        .replaceOne(notNewer, document)
        .catch((retryError: unknown) => Promise.reject(wrapDriverError(retryError, 'snapshot save')));
    }
  }

  async load(streamId: string): Promise<Snapshot | undefined> {
    assertStreamId(streamId);
    await this.#whenReady();
    let document: Record<string, unknown> | null;
    try {
      document = await this.#snapshots.findOne({ _id: { $eq: streamId } }, RAW_READ);
    } catch (error) {
      throw wrapDriverError(error, 'snapshot load');
    }
    return document ? fromSnapshotDocument(document) : undefined;
  }

  async delete(streamId: string): Promise<void> {
    assertStreamId(streamId);
    await this.#whenReady();
    try {
      await this.#snapshots.deleteOne({ _id: { $eq: streamId } });
    } catch (error) {
      throw wrapDriverError(error, 'snapshot delete');
    }
  }

  /**
   * Closes the client when the store opened it from a connection string. Every later call fails with
   * `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      if (this.#connection.ownsClient) await this.#connection.client.close();
    });
  }
}
