import {
  type BackoffOptions,
  type CheckpointStore,
  checkpointProjectionStore,
  type DomainEvent,
  type EventStore,
  InMemoryCheckpointStore,
  InMemoryParkedEventStore,
  InvalidArgumentError,
  type ParkedEvent,
  type ParkedEventStore,
  type ProjectionLock,
  type ProjectionStore,
} from '@es/core';
import { assertPositiveInteger, assertStreamId } from '@es/core/adapter';
import type { EventHandler } from './event-handler.js';

/** How a failing handler is retried before its event is parked. */
export interface ProjectionRetryOptions {
  /** Attempts per event, the first included, before it is parked. Defaults to 5. */
  readonly maxAttempts?: number;
  /** Delays between attempts. Defaults to 50 ms doubling up to 2,000 ms, with jitter. */
  readonly backoff?: BackoffOptions;
}

/**
 * Configures a `Projection`. Give either `readModel` (a `ProjectionStore`, e.g. a transactional
 * PostgreSQL one for exactly-once), whose context (e.g. its transaction) the handler receives, or
 * `checkpoints` (+ `parked`) for at-least-once delivery, where the handler gets no context: a
 * handler that needs one (such as a SQL session) does not compile without a `readModel` that
 * provides it.
 */
// A handler that accepts `undefined` as its context needs no readModel; any other needs one that provides it.
export type ProjectionOptions<
  E extends DomainEvent = DomainEvent,
  TContext = void,
> = ProjectionCommonOptions & {
  /** Applies one event to the read model; `context` comes from `readModel` (e.g. its transaction). */
  readonly handler: EventHandler<E, TContext>;
} & ([undefined] extends [TContext] ? ProjectionStoreChoice<TContext> : ProjectionWithStoreChoice<TContext>);

/**
 * A handler without a context: give a `readModel`, or `checkpoints` (+ `parked`) for at-least-once
 * delivery (the default, in memory, when neither is given).
 */
export interface ProjectionStoreChoice<TContext = void> {
  /**
   * The `ProjectionStore` the read model's progress is committed to. Defaults to
   * `checkpointProjectionStore(checkpoints, parked)`.
   */
  readonly readModel?: ProjectionStore<TContext>;
  /** Used when `readModel` is not given. Defaults to a new `InMemoryCheckpointStore`. */
  readonly checkpoints?: CheckpointStore;
  /** Used when `readModel` is not given. Defaults to a new `InMemoryParkedEventStore`. */
  readonly parked?: ParkedEventStore;
}

/** A handler that needs a context (a SQL session...): only a `readModel` can provide it. */
export interface ProjectionWithStoreChoice<TContext> {
  /**
   * The `ProjectionStore` the read model's progress is committed to; its batches give the handler
   * its context (e.g. a transaction).
   */
  readonly readModel: ProjectionStore<TContext>;
  readonly checkpoints?: undefined;
  readonly parked?: undefined;
}

/** The options every projection takes, whichever way it commits its progress. */
export interface ProjectionCommonOptions {
  /** The subscription id: names the checkpoint, the lease and the parked events. */
  readonly name: string;
  readonly eventStore: EventStore;
  /** Events per batch; the checkpoint is stored after each. Defaults to 100. */
  readonly batchSize?: number;
  /** Only events of these types (filtered in the store's query). Defaults to every type. */
  readonly eventTypes?: readonly string[];
  readonly retry?: ProjectionRetryOptions;
  /**
   * How long an idle projection waits before reading again. With a store that has live
   * notifications this is only a safety net; without, it is the polling interval. Defaults to 1,000 ms.
   */
  readonly pollIntervalMs?: number;
  /** Keeps one active instance across processes. Defaults to none (every instance runs). */
  readonly lock?: ProjectionLock;
  /** How often a standby instance tries to take the lease over. Defaults to 1,000 ms. */
  readonly lockRetryMs?: number;
  /**
   * Aborting it stops the projection at once, as a crash would: the batch in progress is abandoned
   * without storing its checkpoint and the lease is not released. Use `stop()` for a clean stop.
   */
  readonly signal?: AbortSignal;
  /**
   * Told about errors outside the handler (store unreachable...), which are retried with backoff
   * (reset once the stores answer again), and about a closed store, on which the projection stops
   * (see `Projection.failure`). Defaults to `console.warn`.
   */
  readonly onError?: (error: unknown) => void;
  /** Told about each event parked, after its batch committed. */
  readonly onParked?: (event: ParkedEvent) => void;
}

export interface ResolvedProjectionOptions<TContext> {
  readonly name: string;
  readonly readModel: ProjectionStore<TContext>;
  readonly batchSize: number;
  readonly eventTypes: readonly string[] | undefined;
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
  readonly pollIntervalMs: number;
  readonly lockRetryMs: number;
  readonly onError: (error: unknown) => void;
}

/** Validates a projection's options and fills in the defaults. */
export function resolveProjectionOptions<E extends DomainEvent, TContext>(
  options: ProjectionOptions<E, TContext>,
): ResolvedProjectionOptions<TContext> {
  assertStreamId(options.name, 'projection name');
  if (!options.eventStore) throw new InvalidArgumentError('eventStore', 'a projection needs an event store.');
  if ('store' in options && (options as { store?: unknown }).store !== undefined) {
    throw new InvalidArgumentError('store', 'renamed: give the ProjectionStore as `readModel`.');
  }
  const readModel =
    options.readModel ??
    (checkpointProjectionStore(
      options.checkpoints ?? new InMemoryCheckpointStore(),
      options.parked ?? new InMemoryParkedEventStore(),
    ) as unknown as ProjectionStore<TContext>);
  const resolved = {
    name: options.name,
    readModel,
    batchSize: options.batchSize ?? 100,
    eventTypes: options.eventTypes,
    maxAttempts: options.retry?.maxAttempts ?? 5,
    backoff: options.retry?.backoff ?? { initialDelayMs: 50, maxDelayMs: 2000 },
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    lockRetryMs: options.lockRetryMs ?? 1000,
    onError:
      options.onError ??
      ((error: unknown) => console.warn(`[@es/replay] projection "${options.name}":`, error)),
  };
  assertPositiveInteger(resolved.batchSize, 'batchSize');
  assertPositiveInteger(resolved.maxAttempts, 'retry.maxAttempts');
  assertPositiveInteger(resolved.pollIntervalMs, 'pollIntervalMs');
  assertPositiveInteger(resolved.lockRetryMs, 'lockRetryMs');
  if (resolved.eventTypes !== undefined && resolved.eventTypes.length === 0) {
    throw new InvalidArgumentError('eventTypes', 'name at least one event type, or leave it out.');
  }
  return resolved;
}
