import { type ParkedEvent, type Position, StoreNotMigratedError } from '@es/core';
import {
  MIGRATIONS_COLLECTION,
  MONGO_MIGRATIONS,
  MongoCheckpointStore,
  MongoEventStore,
  MongoParkedEventStore,
  migrate,
} from '@es/store-mongo';
import { type Document, Long, MongoClient } from 'mongodb';
import type {
  Backend,
  CheckpointRow,
  GroupRow,
  LogPoint,
  MigrationReport,
  StoreStats,
  StreamSummary,
} from './backend.js';

/** Where a MongoDB store is. Collection names are the stores' defaults, the events one aside. */
export interface MongoTarget {
  readonly url: string;
  readonly database?: string;
  readonly collection: string;
}

/** Opens a backend over a MongoDB deployment. */
export async function openMongoBackend(target: MongoTarget): Promise<Backend> {
  const client = new MongoClient(target.url, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  return new MongoBackend(client, target);
}

const toPosition = (value: unknown): Position =>
  typeof value === 'bigint' ? value : Long.isLong(value) ? value.toBigInt() : BigInt(Number(value));
const toLong = (position: Position) => Long.fromBigInt(position);

class MongoBackend implements Backend {
  readonly kind = 'mongo' as const;
  readonly description: string;
  readonly store: MongoEventStore;
  readonly checkpoints: MongoCheckpointStore;
  readonly #parked: MongoParkedEventStore;
  readonly #db;

  constructor(
    readonly client: MongoClient,
    readonly target: MongoTarget,
  ) {
    this.#db = client.db(target.database);
    this.description = `MongoDB database ${this.#db.databaseName}`;
    const connection = { connection: client, ...(target.database ? { database: target.database } : {}) };
    this.store = new MongoEventStore({ ...connection, collection: target.collection });
    this.checkpoints = new MongoCheckpointStore(connection);
    this.#parked = new MongoParkedEventStore(connection);
  }

  get #events() {
    return this.#db.collection<{ _id: Long; timestamp?: Date }>(this.target.collection);
  }

  async migrate(dryRun: boolean): Promise<MigrationReport> {
    const connection = {
      connection: this.client,
      ...(this.target.database ? { database: this.target.database } : {}),
    };
    const collections = { events: this.target.collection };
    if (!dryRun) return { ...(await migrate({ ...connection, collections })), pending: [] };
    const recorded = new Set(
      (
        await this.#db
          .collection(MIGRATIONS_COLLECTION)
          .find({}, { projection: { _id: 1 } })
          .toArray()
      ).map((doc) => String(doc._id)),
    );
    // Records are named `<collection>#<version>`, with the collection names migrate() uses.
    const collectionOf: Record<string, string> = {
      events: this.target.collection,
      positions: `${this.target.collection}_positions`,
      snapshots: 'snapshots',
      checkpoints: 'checkpoints',
      leases: 'consumer_groups',
      parked: 'parked_events',
    };
    const nameOf = (m: (typeof MONGO_MIGRATIONS)[number]) =>
      `${collectionOf[m.collection] ?? m.collection}#${m.version}`;
    return {
      applied: [],
      alreadyApplied: MONGO_MIGRATIONS.filter((m) => recorded.has(nameOf(m))).map(nameOf),
      pending: MONGO_MIGRATIONS.filter((m) => !recorded.has(nameOf(m))).map((m) => ({
        name: nameOf(m),
        text: JSON.stringify(
          { description: m.description, createIndexes: m.createIndexes, seed: m.seed },
          null,
          2,
        ),
      })),
    };
  }

  async assertMigrated(): Promise<void> {
    const names = new Set(
      (await this.#db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
    );
    if (!names.has(this.target.collection)) {
      throw new StoreNotMigratedError(
        `The events collection "${this.target.collection}" does not exist in ${this.description}. ` +
          'Run `es migrate` with the same connection first.',
      );
    }
  }

  async listStreams(options: { prefix?: string; limit: number; offset: number }) {
    const match: Document =
      options.prefix === undefined ? {} : { streamId: { $regex: `^${escapeRegex(options.prefix)}` } };
    const rows = await this.#events
      .aggregate([
        { $match: match },
        {
          $group: {
            _id: '$streamId',
            version: { $max: '$version' },
            lastPosition: { $max: '$_id' },
            firstAt: { $min: '$timestamp' },
            lastAt: { $max: '$timestamp' },
          },
        },
        { $sort: { _id: 1 } },
        { $skip: options.offset },
        { $limit: options.limit },
      ])
      .toArray();
    const [count] = await this.#events
      .aggregate([{ $match: match }, { $group: { _id: '$streamId' } }, { $count: 'total' }])
      .toArray();
    const streams: StreamSummary[] = rows.map((row) => ({
      streamId: String(row._id),
      version: Number(row.version),
      lastPosition: toPosition(row.lastPosition),
      firstAt: new Date(row.firstAt),
      lastAt: new Date(row.lastAt),
    }));
    return { streams, total: Number(count?.total ?? 0) };
  }

  async stats(top: number): Promise<StoreStats> {
    const now = Date.now();
    const [totals] = await this.#events
      .aggregate([
        {
          $group: {
            _id: null,
            events: { $sum: 1 },
            head: { $max: '$_id' },
            firstAt: { $min: '$timestamp' },
            lastAt: { $max: '$timestamp' },
            lastMinute: { $sum: { $cond: [{ $gt: ['$timestamp', new Date(now - 60_000)] }, 1, 0] } },
            lastHour: { $sum: { $cond: [{ $gt: ['$timestamp', new Date(now - 3_600_000)] }, 1, 0] } },
            averageBytes: { $avg: { $bsonSize: '$$ROOT' } },
          },
        },
      ])
      .toArray();
    const streams = await this.#events
      .aggregate([
        { $group: { _id: '$streamId', events: { $max: '$version' } } },
        { $sort: { events: -1, _id: 1 } },
      ])
      .toArray();
    const types = await this.#events
      .aggregate([{ $group: { _id: '$type', count: { $sum: 1 } } }, { $sort: { count: -1, _id: 1 } }])
      .toArray();
    const collStats = await this.#db
      .command({ collStats: this.target.collection })
      .catch(() => undefined as Document | undefined);
    return {
      events: Number(totals?.events ?? 0),
      streams: streams.length,
      headPosition: totals?.head == null ? undefined : toPosition(totals.head),
      firstAt: totals?.firstAt ?? undefined,
      lastAt: totals?.lastAt ?? undefined,
      lastMinute: Number(totals?.lastMinute ?? 0),
      lastHour: Number(totals?.lastHour ?? 0),
      storageBytes: collStats
        ? Number(collStats.storageSize) + Number(collStats.totalIndexSize ?? 0)
        : undefined,
      averageEventBytes: totals?.averageBytes == null ? undefined : Math.round(Number(totals.averageBytes)),
      types: types.map((row) => ({ type: String(row._id), count: Number(row.count) })),
      largestStreams: streams
        .slice(0, top)
        .map((row) => ({ streamId: String(row._id), events: Number(row.events) })),
    };
  }

  async headPosition(): Promise<Position | undefined> {
    const [doc] = await this.#events
      .find({}, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .limit(1)
      .toArray();
    return doc ? toPosition(doc._id) : undefined;
  }

  async countAfter(position: Position, limit: number): Promise<number> {
    return this.#events.countDocuments({ _id: { $gt: toLong(position) } }, { limit });
  }

  async firstAfter(position: Position): Promise<LogPoint | undefined> {
    const [doc] = await this.#events
      .find({ _id: { $gt: toLong(position) } }, { projection: { _id: 1, timestamp: 1 } })
      .sort({ _id: 1 })
      .limit(1)
      .toArray();
    return doc ? { position: toPosition(doc._id), timestamp: new Date(doc.timestamp ?? 0) } : undefined;
  }

  async listCheckpoints(): Promise<CheckpointRow[]> {
    const docs = await this.#db.collection('checkpoints').find({}).sort({ _id: 1 }).toArray();
    return docs.map((doc) => ({
      subscriptionId: String(doc._id),
      position: toPosition(doc.position),
      updatedAt: doc.updatedAt ? new Date(doc.updatedAt) : undefined,
    }));
  }

  async listGroups(): Promise<GroupRow[]> {
    const docs = await this.#db.collection('consumer_groups').find({}).toArray();
    const now = Date.now();
    const live = (doc: Document) => doc.expiresAt instanceof Date && doc.expiresAt.getTime() > now;
    return docs
      .filter((doc) => doc.kind === 'group')
      .map((group) => ({
        name: String(group.group),
        partitions: Number(group.partitions),
        owners: new Map(
          docs
            .filter((doc) => doc.kind === 'lease' && doc.group === group.group && doc.owner && live(doc))
            .map((doc) => [Number(doc.partition), String(doc.owner)] as const),
        ),
        members: docs
          .filter((doc) => doc.kind === 'member' && doc.group === group.group && live(doc))
          .map((doc) => String(doc.worker))
          .sort(),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async listParked(subscriptionId?: string): Promise<ParkedEvent[]> {
    const filter =
      subscriptionId === undefined
        ? {}
        : { subscriptionId: { $regex: `^${escapeRegex(subscriptionId)}(#\\d+)?$` } };
    const docs = await this.#db
      .collection('parked_events')
      .find(filter)
      .sort({ subscriptionId: 1, position: 1 })
      .toArray();
    return docs.map((doc) => ({
      subscriptionId: String(doc.subscriptionId),
      position: toPosition(doc.position),
      eventId: String(doc.eventId),
      streamId: String(doc.streamId),
      eventType: String(doc.eventType),
      error: String(doc.error),
      attempts: Number(doc.attempts),
      parkedAt: new Date(doc.parkedAt),
      ...(doc.retryRequestedAt == null ? {} : { retryRequestedAt: new Date(doc.retryRequestedAt) }),
    }));
  }

  async parkedCounts(): Promise<Map<string, number>> {
    const rows = await this.#db
      .collection('parked_events')
      .aggregate([{ $group: { _id: '$subscriptionId', count: { $sum: 1 } } }])
      .toArray();
    return new Map(rows.map((row) => [String(row._id), Number(row.count)]));
  }

  async removeParked(subscriptionId: string, position: Position): Promise<boolean> {
    const result = await this.#db
      .collection('parked_events')
      .deleteOne({ subscriptionId: { $eq: subscriptionId }, position: { $eq: toLong(position) } });
    return result.deletedCount > 0;
  }

  requestRetry(subscriptionId: string, position: Position): Promise<boolean> {
    return this.#parked.requestRetry(subscriptionId, position);
  }

  async close(): Promise<void> {
    try {
      await this.store.close();
      await this.checkpoints.close();
    } finally {
      await this.client.close();
    }
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
