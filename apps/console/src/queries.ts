import { type DomainEvent, partitionOf, partitionSubscriptionId, type StoredEvent } from '@es/core';
import { describeConsumerGroup } from '@es/replay';
import type { ConsoleStores } from './database.js';

/** An event as the console shows and serves it (positions as decimal strings: JSON has no bigint). */
export interface EventView {
  readonly position: string;
  readonly streamId: string;
  readonly version: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly timestamp: string;
  readonly data: unknown;
  readonly metadata: unknown;
}

/** One stream in the stream list. */
export interface StreamView {
  readonly streamId: string;
  readonly version: number;
  readonly lastType: string;
  readonly lastAt: string;
}

/** What stands between a subscription's checkpoint and the end of the log. */
export interface LagView {
  /** Events after the checkpoint (for a group partition: of that partition), counted up to `LAG_SCAN_LIMIT`. */
  readonly events: number;
  /** True when the count stopped at the limit: the lag is at least `events`. */
  readonly capped: boolean;
  /** Age of the first unhandled event in seconds; 0 when there is none. */
  readonly seconds: number;
}

/** One partition of a consumer group. */
export interface PartitionView {
  readonly partition: number;
  readonly subscriptionId: string;
  readonly checkpoint: string | null;
  readonly owner: string | null;
  readonly token: string | null;
  readonly leaseExpiresAt: string | null;
  readonly parked: number;
  readonly lag: LagView;
}

/** A consumer group: members, partitions, leases and lag. */
export interface GroupView {
  readonly name: string;
  readonly members: readonly string[];
  readonly partitions: readonly PartitionView[];
}

/** A subscription or projection with a checkpoint of its own (not a group partition). */
export interface SubscriptionView {
  readonly subscriptionId: string;
  readonly checkpoint: string;
  readonly updatedAt: string;
  readonly parked: number;
  readonly lag: LagView;
}

/** Filters of `searchEvents`; every one optional. */
export interface EventSearch {
  /** Part of the stream id (substring, case-sensitive). */
  readonly stream?: string;
  /** The exact event type. */
  readonly type?: string;
  /** Committed at or after. */
  readonly from?: Date;
  /** Committed before. */
  readonly to?: Date;
  readonly limit?: number;
}

/** How many events past a checkpoint the console counts before it says "at least". */
export const LAG_SCAN_LIMIT = 10_000;
const DEFAULT_LIMIT = 100;

/** The streams, most recently written first; `search` keeps those whose id contains it. */
export async function listStreams(
  stores: ConsoleStores,
  options: { search?: string; limit?: number } = {},
): Promise<StreamView[]> {
  // A GROUP BY over the table: fine for a console, and bounded in what it returns.
  const rows = await stores.sql.query<{
    stream_id: string;
    version: number;
    last_type: string;
    last_at: unknown;
  }>({
    text: `SELECT s.stream_id, s.version, e.type AS last_type, e.created_at AS last_at
           FROM (SELECT stream_id, max(version) AS version, max(position) AS last_position
                 FROM ${table(stores)} WHERE $1::text IS NULL OR strpos(stream_id, $1::text) > 0
                 GROUP BY stream_id ORDER BY max(position) DESC LIMIT $2) s
           JOIN ${table(stores)} e ON e.position = s.last_position
           ORDER BY s.last_position DESC`,
    values: [options.search || null, limitOf(options.limit)],
  });
  return rows.map((row) => ({
    streamId: row.stream_id,
    version: Number(row.version),
    lastType: row.last_type,
    lastAt: isoOf(row.last_at),
  }));
}

/** A stream's events from `fromVersion` on (`getEvents`). */
export async function streamEvents(
  stores: ConsoleStores,
  streamId: string,
  options: { fromVersion?: number; limit?: number } = {},
): Promise<EventView[]> {
  const events = await stores.events.getEvents(streamId, options.fromVersion ?? 0, {
    limit: limitOf(options.limit),
  });
  return events.map(toView);
}

/**
 * Events matching every filter given, in log order from the oldest match: by type (and start time)
 * through `getEventsByType`, otherwise one query on the event table.
 */
export async function searchEvents(stores: ConsoleStores, search: EventSearch): Promise<EventView[]> {
  const limit = limitOf(search.limit);
  if (search.type && !search.stream && !search.to) {
    const events = await stores.events.getEventsByType(search.type, search.from, { limit });
    return events.map(toView);
  }
  const rows = await stores.sql.query<EventRow>({
    text: `SELECT ${EVENT_COLUMNS} FROM ${table(stores)}
           WHERE ($1::text IS NULL OR strpos(stream_id, $1::text) > 0)
             AND ($2::text IS NULL OR type = $2::text)
             AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz)
             AND ($4::timestamptz IS NULL OR created_at < $4::timestamptz)
           ORDER BY position LIMIT $5`,
    values: [
      search.stream || null,
      search.type || null,
      search.from?.toISOString() ?? null,
      search.to?.toISOString() ?? null,
      limit,
    ],
  });
  return rows.map(rowToView);
}

/** The last `count` events of the log, oldest first (where the live tail starts). */
export async function latestEvents(stores: ConsoleStores, count = 20): Promise<EventView[]> {
  const rows = await stores.sql.query<{ position: string }>({
    text: `SELECT position::text AS position FROM ${table(stores)} ORDER BY position DESC OFFSET $1 LIMIT 1`,
    values: [Math.max(0, count - 1)],
  });
  const start = rows[0] === undefined ? 0n : BigInt(rows[0].position) - 1n;
  return eventsAfter(stores, start, count);
}

/** Up to `limit` events after `position`, in log order (`getAllEvents`: committed and visible ones only). */
export async function eventsAfter(
  stores: ConsoleStores,
  position: bigint,
  limit = 500,
): Promise<EventView[]> {
  const events: EventView[] = [];
  if (limit <= 0) return events;
  for await (const event of stores.events.getAllEvents(position, { batchSize: Math.min(limit, 500) })) {
    events.push(toView(event));
    if (events.length >= limit) break;
  }
  return events;
}

/** Every consumer group (from the lease tables) and every other checkpoint, with lag and parked counts. */
export async function describeConsumers(
  stores: ConsoleStores,
): Promise<{ groups: GroupView[]; subscriptions: SubscriptionView[] }> {
  const s = quoted(stores.schema);
  const groupNames = (
    await stores.sql.query<{ group_name: string }>({
      text: `SELECT group_name FROM ${s}.es_consumer_groups
             UNION SELECT group_name FROM ${s}.es_partition_leases ORDER BY group_name`,
    })
  ).map((row) => row.group_name);
  const parkedCounts = new Map(
    (
      await stores.sql.query<{ subscription_id: string; n: number }>({
        text: `SELECT subscription_id, count(*)::integer AS n FROM ${s}.es_parked_events GROUP BY subscription_id`,
      })
    ).map((row) => [row.subscription_id, Number(row.n)]),
  );
  const groups: GroupView[] = [];
  const partitionIds = new Set<string>();
  for (const name of groupNames) {
    const description = await describeConsumerGroup({
      name,
      leases: stores.leases,
      readModel: stores.projections,
    });
    const lags = await partitionLags(
      stores,
      description.partitions.map((partition) => partition.checkpoint ?? 0n),
    );
    groups.push({
      name,
      members: description.members,
      partitions: description.partitions.map((partition, index) => {
        const subscriptionId = partitionSubscriptionId(name, partition.partition);
        partitionIds.add(subscriptionId);
        return {
          partition: partition.partition,
          subscriptionId,
          checkpoint: partition.checkpoint?.toString() ?? null,
          owner: partition.owner ?? null,
          token: partition.token?.toString() ?? null,
          leaseExpiresAt: partition.leaseExpiresAt?.toISOString() ?? null,
          parked: partition.parked,
          lag: lags[index]!,
        };
      }),
    });
  }
  const checkpoints = await stores.sql.query<{
    subscription_id: string;
    position: string;
    updated_at: unknown;
  }>({
    text: `SELECT subscription_id, position::text AS position, updated_at FROM ${s}.es_checkpoints ORDER BY subscription_id`,
  });
  const subscriptions: SubscriptionView[] = [];
  for (const row of checkpoints) {
    if (partitionIds.has(row.subscription_id)) continue;
    const checkpoint = BigInt(row.position);
    subscriptions.push({
      subscriptionId: row.subscription_id,
      checkpoint: row.position,
      updatedAt: isoOf(row.updated_at),
      parked: parkedCounts.get(row.subscription_id) ?? 0,
      lag: await subscriptionLag(stores, checkpoint),
    });
  }
  return { groups, subscriptions };
}

// Each partition's events after its checkpoint, counted in one bounded pass over the log from the
// lowest checkpoint. Assumes the group's default key (the stream id) to place events.
async function partitionLags(stores: ConsoleStores, checkpoints: readonly bigint[]): Promise<LagView[]> {
  const count = checkpoints.length;
  const lags = checkpoints.map(() => ({ events: 0, first: undefined as Date | undefined }));
  if (count === 0) return [];
  let lowest = checkpoints[0]!;
  for (const checkpoint of checkpoints) if (checkpoint < lowest) lowest = checkpoint;
  let scanned = 0;
  let capped = false;
  for await (const event of stores.events.getAllEvents(lowest, { batchSize: 1_000 })) {
    if (scanned++ >= LAG_SCAN_LIMIT) {
      capped = true;
      break;
    }
    const partition = partitionOf(event.streamId, count);
    if (event.position <= checkpoints[partition]!) continue;
    const lag = lags[partition]!;
    lag.events++;
    lag.first ??= event.timestamp;
  }
  const now = Date.now();
  return lags.map((lag) => ({
    events: lag.events,
    capped,
    seconds: lag.first === undefined ? 0 : Math.max(0, Math.round((now - lag.first.getTime()) / 1000)),
  }));
}

async function subscriptionLag(stores: ConsoleStores, checkpoint: bigint): Promise<LagView> {
  const rows = await stores.sql.query<{ n: number }>({
    text: `SELECT count(*)::integer AS n FROM (SELECT 1 FROM ${table(stores)} WHERE position > $1 LIMIT $2) pending`,
    values: [checkpoint.toString(), LAG_SCAN_LIMIT + 1],
  });
  const events = Math.min(Number(rows[0]?.n ?? 0), LAG_SCAN_LIMIT);
  const [first] = await eventsAfter(stores, checkpoint, 1);
  return {
    events,
    capped: Number(rows[0]?.n ?? 0) > LAG_SCAN_LIMIT,
    seconds:
      first === undefined ? 0 : Math.max(0, Math.round((Date.now() - Date.parse(first.timestamp)) / 1000)),
  };
}

const EVENT_COLUMNS =
  'position::text AS position, stream_id, version, event_id::text AS event_id, type, schema_version, data, metadata, created_at';

interface EventRow {
  position: string;
  stream_id: string;
  version: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  created_at: unknown;
}

function rowToView(row: EventRow): EventView {
  return {
    position: row.position,
    streamId: row.stream_id,
    version: Number(row.version),
    eventId: row.event_id,
    type: row.type,
    schemaVersion: Number(row.schema_version),
    timestamp: isoOf(row.created_at),
    data: jsonOf(row.data),
    metadata: jsonOf(row.metadata),
  };
}

function toView(event: StoredEvent<DomainEvent>): EventView {
  return {
    position: event.position.toString(),
    streamId: event.streamId,
    version: event.version,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    timestamp: event.timestamp.toISOString(),
    data: event.data,
    metadata: event.metadata,
  };
}

function table(stores: ConsoleStores): string {
  return stores.events.names.qualifiedTable;
}

function quoted(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function limitOf(limit: number | undefined): number {
  if (limit === undefined || !Number.isInteger(limit) || limit <= 0) return DEFAULT_LIMIT;
  return Math.min(limit, 1_000);
}

function isoOf(value: unknown): string {
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

function jsonOf(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
