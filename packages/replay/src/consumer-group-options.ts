import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type CheckpointStore,
  checkpointProjectionStore,
  type DomainEvent,
  type EventStore,
  InMemoryCheckpointStore,
  InMemoryParkedEventStore,
  InvalidArgumentError,
  type ParkedEvent,
  type ParkedEventStore,
  type PartitionLeaseStore,
  type Position,
  type ProjectionStore,
  type StoredEvent,
} from '@es/core';
import { assertPositiveInteger, assertStreamId } from '@es/core/adapter';
import type { ProjectionRetryOptions } from './projection-options.js';

/** What a consumer group's handler learns about the event besides its context. */
export interface ConsumerGroupEventInfo {
  /** The group's name. */
  readonly group: string;
  /** The partition the event belongs to (`partitionOf(key, partitions)`). */
  readonly partition: number;
  /**
   * True while a new version of a projection handles events its previous version already handled
   * (see `previousVersion`): update the read model, but skip side effects such as e-mails.
   */
  readonly replaying: boolean;
}

/**
 * Handles one event of a consumer group: a function, or an object with `handleEvent`. A handler
 * that ignores `context` and `info` is a plain `(event) => ...`.
 *
 * @example
 * const handler: ConsumerGroupHandler<StockEvent, SqlSession> = async (event, sql, { replaying }) => {
 *   await sql.query({ text: 'UPDATE stock SET quantity = quantity + $2 WHERE sku = $1', values: [event.streamId, 1] });
 *   if (!replaying) await notifyBuyers(event);
 * };
 */
export type ConsumerGroupHandler<E extends DomainEvent = DomainEvent, TContext = void> =
  | ((event: StoredEvent<E>, context: TContext, info: ConsumerGroupEventInfo) => unknown)
  | { handleEvent(event: StoredEvent<E>, context: TContext, info: ConsumerGroupEventInfo): unknown };

/** Where a previous version of a projection keeps its progress (see `previousVersion`). */
export interface PreviousVersion {
  /** The previous version's group name. */
  readonly name: string;
  /** Its partition count (its checkpoints are per partition). */
  readonly partitions: number;
  /** The store holding its checkpoints. Defaults to this group's `readModel`. */
  readonly readModel?: Pick<ProjectionStore<unknown>, 'load'>;
}

/** The options every consumer group takes, whichever way it commits its progress. */
export interface ConsumerGroupCommonOptions<E extends DomainEvent = DomainEvent> {
  /** The group's name: partition `p` keeps its checkpoint and parked events as `<name>#<p>`. */
  readonly name: string;
  /** How many partitions the log is split into: the most workers that can share the work. Fixed for the group's life. */
  readonly partitions: number;
  /** Where the log is read (may be a store on a read replica). */
  readonly eventStore: EventStore;
  /** Where membership and partition leases live (e.g. `PostgresPartitionLeaseStore`). */
  readonly leases: PartitionLeaseStore;
  /** The key an event is partitioned by. Defaults to its stream id, which keeps each stream in order. */
  readonly partitionKey?: (event: StoredEvent<E>) => string;
  /** This worker's id in the group. Defaults to `<host>-<pid>-<random>`. */
  readonly workerId?: string;
  /**
   * How many of its partitions' shares this worker commits at once, each in its own transaction
   * (one connection each from the read model's pool). Set it to the partitions a worker holds for
   * the lowest live latency; see docs/consumer-groups.md, "Live latency". Defaults to 1.
   */
  readonly concurrency?: number;
  /** Events read from the log per batch (split among the worker's partitions). Defaults to 500. */
  readonly batchSize?: number;
  /** Only events of these types (filtered in the store's query). Defaults to every type. */
  readonly eventTypes?: readonly string[];
  readonly retry?: ProjectionRetryOptions;
  /** How long an idle worker waits before reading again (a safety net with live notifications). Defaults to 1,000 ms. */
  readonly pollIntervalMs?: number;
  /** How long a lease or membership lives without renewal. Defaults to 10,000 ms. */
  readonly leaseTtlMs?: number;
  /** How often the worker renews and rebalances. Defaults to a fifth of `leaseTtlMs`. */
  readonly heartbeatMs?: number;
  /**
   * The version this group replaces (blue/green rebuild): the group follows no further than the
   * previous version's progress and hands every event over with `replaying: true`, until
   * `takeOver()` makes it the live version.
   */
  readonly previousVersion?: PreviousVersion;
  /**
   * Aborting it stops the worker at once, as a crash would: the batch in progress is abandoned and
   * the leases are not released (they lapse). Use `stop()` for a clean stop.
   */
  readonly signal?: AbortSignal;
  /** Told about errors outside the handler (store unreachable...), which are retried with backoff. Defaults to `console.warn`. */
  readonly onError?: (error: unknown) => void;
  /** Told about each event parked, after its batch committed. */
  readonly onParked?: (event: ParkedEvent) => void;
  /** Told when the set of partitions this worker owns changes. */
  readonly onRebalance?: (owned: readonly number[]) => void;
}

/**
 * Configures a `ConsumerGroup`. Give either `readModel` (a `ProjectionStore`, e.g. a transactional
 * PostgreSQL one for exactly-once), whose context the handler receives, or `checkpoints` (+
 * `parked`) for at-least-once delivery, where the handler gets no context.
 */
export type ConsumerGroupOptions<
  E extends DomainEvent = DomainEvent,
  TContext = void,
> = ConsumerGroupCommonOptions<E> & {
  /** Applies one event; `context` comes from `readModel` (e.g. its transaction). */
  readonly handler: ConsumerGroupHandler<E, TContext>;
} & ([undefined] extends [TContext]
    ? {
        readonly readModel?: ProjectionStore<TContext>;
        /** Used when `readModel` is not given. Defaults to a new `InMemoryCheckpointStore`. */
        readonly checkpoints?: CheckpointStore;
        /** Used when `readModel` is not given. Defaults to a new `InMemoryParkedEventStore`. */
        readonly parked?: ParkedEventStore;
      }
    : {
        /** The `ProjectionStore` whose batches give the handler its context (e.g. a transaction). */
        readonly readModel: ProjectionStore<TContext>;
        readonly checkpoints?: undefined;
        readonly parked?: undefined;
      });

export interface ResolvedConsumerGroupOptions<E extends DomainEvent, TContext> {
  readonly name: string;
  readonly partitions: number;
  readonly workerId: string;
  readonly readModel: ProjectionStore<TContext>;
  readonly partitionKey: (event: StoredEvent<E>) => string;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly eventTypes: readonly string[] | undefined;
  readonly maxAttempts: number;
  readonly backoff: NonNullable<ProjectionRetryOptions['backoff']>;
  readonly pollIntervalMs: number;
  readonly leaseTtlMs: number;
  readonly heartbeatMs: number;
  readonly previousVersion:
    | {
        readonly name: string;
        readonly partitions: number;
        readonly load: (id: string) => Promise<Position | undefined>;
      }
    | undefined;
  readonly onError: (error: unknown) => void;
}

/** Validates a consumer group's options and fills in the defaults. */
export function resolveConsumerGroupOptions<E extends DomainEvent, TContext>(
  options: ConsumerGroupOptions<E, TContext>,
): ResolvedConsumerGroupOptions<E, TContext> {
  assertStreamId(options.name, 'consumer group name');
  if (options.name.includes('#')) {
    throw new InvalidArgumentError(
      'name',
      `"${options.name}" contains "#", which separates the group from its partition.`,
    );
  }
  assertPositiveInteger(options.partitions, 'partitions');
  if (!options.eventStore)
    throw new InvalidArgumentError('eventStore', 'a consumer group needs an event store.');
  if (!options.leases) {
    throw new InvalidArgumentError(
      'leases',
      'a consumer group needs a PartitionLeaseStore (e.g. PostgresPartitionLeaseStore).',
    );
  }
  const readModel =
    options.readModel ??
    (checkpointProjectionStore(
      options.checkpoints ?? new InMemoryCheckpointStore(),
      options.parked ?? new InMemoryParkedEventStore(),
      options.leases,
    ) as unknown as ProjectionStore<TContext>);
  const leaseTtlMs = options.leaseTtlMs ?? 10_000;
  assertPositiveInteger(leaseTtlMs, 'leaseTtlMs');
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(leaseTtlMs / 5));
  assertPositiveInteger(heartbeatMs, 'heartbeatMs');
  if (heartbeatMs >= leaseTtlMs) {
    throw new InvalidArgumentError(
      'heartbeatMs',
      `${heartbeatMs} ms is not shorter than leaseTtlMs (${leaseTtlMs} ms): leases would lapse between renewals.`,
    );
  }
  const previous = options.previousVersion;
  if (previous) {
    assertStreamId(previous.name, 'previousVersion.name');
    assertPositiveInteger(previous.partitions, 'previousVersion.partitions');
    if (previous.name === options.name) {
      throw new InvalidArgumentError(
        'previousVersion',
        'the previous version must have another name than this group.',
      );
    }
  }
  const previousStore = previous?.readModel ?? readModel;
  const resolved: ResolvedConsumerGroupOptions<E, TContext> = {
    name: options.name,
    partitions: options.partitions,
    workerId: options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    readModel,
    partitionKey: options.partitionKey ?? ((event) => event.streamId),
    concurrency: options.concurrency ?? 1,
    batchSize: options.batchSize ?? 500,
    eventTypes: options.eventTypes,
    maxAttempts: options.retry?.maxAttempts ?? 5,
    backoff: options.retry?.backoff ?? { initialDelayMs: 50, maxDelayMs: 2000 },
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    leaseTtlMs,
    heartbeatMs,
    previousVersion: previous
      ? { name: previous.name, partitions: previous.partitions, load: (id) => previousStore.load(id) }
      : undefined,
    onError:
      options.onError ??
      ((error: unknown) => console.warn(`[@es/replay] consumer group "${options.name}":`, error)),
  };
  assertStreamId(resolved.workerId, 'workerId');
  assertPositiveInteger(resolved.concurrency, 'concurrency');
  assertPositiveInteger(resolved.batchSize, 'batchSize');
  assertPositiveInteger(resolved.maxAttempts, 'retry.maxAttempts');
  assertPositiveInteger(resolved.pollIntervalMs, 'pollIntervalMs');
  if (resolved.eventTypes !== undefined && resolved.eventTypes.length === 0) {
    throw new InvalidArgumentError('eventTypes', 'name at least one event type, or leave it out.');
  }
  return resolved;
}
