import type { CheckpointStore, EventStore, ParkedEvent, Position } from '@es/core';

/** A stream as `es streams list` shows it. */
export interface StreamSummary {
  readonly streamId: string;
  /** The stream's version: its number of events. */
  readonly version: number;
  readonly lastPosition: Position;
  readonly firstAt: Date;
  readonly lastAt: Date;
}

/** What `es stats` shows. */
export interface StoreStats {
  readonly events: number;
  readonly streams: number;
  /** The position of the newest event, if any. */
  readonly headPosition: Position | undefined;
  readonly firstAt: Date | undefined;
  readonly lastAt: Date | undefined;
  /** Events appended in the last minute and the last hour. */
  readonly lastMinute: number;
  readonly lastHour: number;
  /** Bytes on disk (table and indexes, or collection storage), when the store can tell. */
  readonly storageBytes: number | undefined;
  /** Mean size of an event's data and metadata, in bytes. */
  readonly averageEventBytes: number | undefined;
  readonly types: readonly { readonly type: string; readonly count: number }[];
  readonly largestStreams: readonly { readonly streamId: string; readonly events: number }[];
}

/** A checkpoint row: one subscription (a projection, or one partition of a consumer group). */
export interface CheckpointRow {
  readonly subscriptionId: string;
  readonly position: Position;
  readonly updatedAt: Date | undefined;
}

/** A consumer group as the lease tables record it. */
export interface GroupRow {
  readonly name: string;
  readonly partitions: number;
  /** Live lease owners, by partition. */
  readonly owners: ReadonlyMap<number, string>;
  /** Live members. */
  readonly members: readonly string[];
}

/** The first event after a position, for the lag in seconds. */
export interface LogPoint {
  readonly position: Position;
  readonly timestamp: Date;
}

/** What `es migrate` did or would do. */
export interface MigrationReport {
  readonly applied: readonly string[];
  readonly alreadyApplied: readonly string[];
  /** With --dry-run: what would be applied, with its text (SQL for PostgreSQL). */
  readonly pending: readonly { readonly name: string; readonly text: string }[];
}

/**
 * What the commands need from a store, over PostgreSQL (server or PGlite) or MongoDB. Reads of the
 * log go through the event store; listings read the store's tables or collections directly.
 */
export interface Backend {
  readonly kind: 'postgres' | 'pglite' | 'mongo';
  /** Where it is connected, without credentials, for messages. */
  readonly description: string;
  readonly store: EventStore;
  readonly checkpoints: CheckpointStore;
  migrate(dryRun: boolean): Promise<MigrationReport>;
  /** Fails with the store's StoreNotMigratedError when the schema is missing. */
  assertMigrated(): Promise<void>;
  listStreams(options: {
    prefix?: string;
    limit: number;
    offset: number;
  }): Promise<{ streams: StreamSummary[]; total: number }>;
  stats(top: number): Promise<StoreStats>;
  headPosition(): Promise<Position | undefined>;
  /** Events after `position`, counted up to `limit` (so a huge lag costs a bounded read). */
  countAfter(position: Position, limit: number): Promise<number>;
  firstAfter(position: Position): Promise<LogPoint | undefined>;
  listCheckpoints(): Promise<CheckpointRow[]>;
  listGroups(): Promise<GroupRow[]>;
  listParked(subscriptionId?: string): Promise<ParkedEvent[]>;
  /** Parked events per subscription. */
  parkedCounts(): Promise<Map<string, number>>;
  removeParked(subscriptionId: string, position: Position): Promise<boolean>;
  /**
   * Marks a parked event for a retry by the running worker that owns its subscription (the
   * store's `requestRetry`); false when it is not parked.
   */
  requestRetry(subscriptionId: string, position: Position): Promise<boolean>;
  close(): Promise<void>;
}
