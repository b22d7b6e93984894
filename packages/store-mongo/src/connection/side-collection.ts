import { InvalidArgumentError } from '@es/core';
import type { Collection, Document } from 'mongodb';
import type { CollectionRole } from '../schema/migrations.js';
import { assertBooleanOption, assertCollectionName, optionOr } from '../schema/names.js';
import { applyMigrations, assertMigrated, type MongoMigrationReport, reportOf } from '../schema/schema.js';
import {
  type MongoConnection,
  type MongoConnectionOptions,
  openConnection,
  StoreLifecycle,
} from './connection.js';
import { wrapDriverError } from './mongo-errors.js';
import { onFirstUse } from './ready.js';

/** Options every single-collection store shares: the connection, its collection and `autoMigrate`. */
export interface SideCollectionOptions extends MongoConnectionOptions {
  readonly collection?: string;
  readonly autoMigrate?: boolean;
}

/**
 * The plumbing of a store kept in one collection beside the event log (snapshots, checkpoints): the
 * validated options, the connection, the migration check on first use (or the migrations themselves
 * with `autoMigrate`), the closed state and the driver-error wrapping. One place, so the stores agree.
 */
export class SideCollection<TDocument extends Document> {
  readonly collection: Collection<TDocument>;
  readonly #connection: MongoConnection;
  readonly #role: CollectionRole;
  readonly #life: StoreLifecycle;
  readonly #whenReady: () => Promise<void>;

  constructor(options: SideCollectionOptions, role: CollectionRole, defaultName: string, storeName: string) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError(
        'options',
        `${storeName} expects { connection, database?, collection?, autoMigrate? }.`,
      );
    }
    const name = optionOr(options.collection, defaultName);
    assertCollectionName(name);
    const auto = optionOr(options.autoMigrate, false);
    assertBooleanOption(auto, 'autoMigrate');
    this.#connection = openConnection(options);
    this.collection = this.#connection.db.collection<TDocument>(name);
    this.#role = role;
    this.#life = new StoreLifecycle(storeName);
    this.#whenReady = this.#life.guard(
      onFirstUse(async () => {
        if (auto) await this.migrate();
        else await assertMigrated(this.#connection.db, { [role]: name }, storeName);
      }),
    );
  }

  /** Creates this collection from `migrations/mongo/`. Idempotent. */
  async migrate(): Promise<MongoMigrationReport> {
    this.#life.assertOpen();
    return reportOf(
      await applyMigrations(this.#connection.db, { [this.#role]: this.collection.collectionName }),
    );
  }

  /**
   * Runs one operation once the collection is ready; a driver error becomes the store's typed error
   * (`StoreClosedError` when the store was closed meanwhile).
   */
  async run<T>(operation: string, action: () => Promise<T>): Promise<T> {
    await this.#whenReady();
    try {
      return await action();
    } catch (error) {
      throw this.#life.error(error, (cause) => wrapDriverError(cause, operation));
    }
  }

  /** Closes the client when the store opened it from a connection string; later calls do nothing. */
  close(): Promise<void> {
    return this.#life.close(async () => {
      if (this.#connection.ownsClient) await this.#connection.client.close();
    });
  }
}
