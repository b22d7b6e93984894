import { assertStreamId, type Snapshot, type SnapshotStore } from '@es/core';
import type { Collection } from 'mongodb';
import {
  type MongoConnection,
  type MongoConnectionOptions,
  openConnection,
  StoreLifecycle,
} from './connection.js';
import { RAW_READ } from './event-document.js';
import { isDuplicateKeyError, wrapDriverError } from './mongo-errors.js';
import { assertBooleanOption, assertCollectionName, optionOr } from './names.js';
import { onFirstUse } from './ready.js';
import { applyMigrations, type MigrationOutcome } from './schema.js';
import {
  assertSnapshot,
  fromSnapshotDocument,
  type SnapshotDocument,
  toSnapshotDocument,
} from './snapshot-document.js';

/** Options of {@link MongoSnapshotStore}. Pass `client` or `uri`. */
export interface MongoSnapshotStoreOptions extends MongoConnectionOptions {
  /** The snapshots collection. Defaults to `"snapshots"`. */
  readonly collection?: string;
  /** Apply the bundled migrations before the first operation. Defaults to `true`. */
  readonly ensureSchema?: boolean;
}

/**
 * Keeps the latest snapshot of each stream in MongoDB, one document per stream. A save replaces the
 * stored snapshot only when its `aggregateVersion` is at least the stored one, in one atomic
 * conditional write, so a late, older save never replaces a newer snapshot. Works on a standalone
 * server as well as a replica set.
 *
 * @example
 * const snapshots = new MongoSnapshotStore({ client, database: 'shop' });
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
    const auto = optionOr(options.ensureSchema, true);
    assertBooleanOption(auto, 'ensureSchema');
    this.#whenReady = this.#life.guard(
      onFirstUse(async () => {
        if (auto) await this.ensureSchema();
      }),
    );
  }

  /** The snapshots collection's name. */
  get collectionName(): string {
    return this.#snapshots.collectionName;
  }

  /** Creates the snapshots collection from `migrations/mongo/`. Idempotent. */
  async ensureSchema(): Promise<MigrationOutcome[]> {
    this.#life.assertOpen();
    return applyMigrations(this.#connection.db, { snapshots: this.#snapshots.collectionName });
  }

  async save(snapshot: Snapshot): Promise<void> {
    assertSnapshot(snapshot);
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
   * Closes the client when the store opened it from `uri`. Every later call fails with
   * `StoreClosedError`; calling `close()` again does nothing.
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      if (this.#connection.ownsClient) await this.#connection.client.close();
    });
  }
}
