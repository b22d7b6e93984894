import {
  type DomainEvent,
  type EventStore,
  InvalidArgumentError,
  type Position,
  type StoredEvent,
} from '@es/core';
import { assertPositiveInteger, assertStreamId, assertVersionNumber } from '@es/core/adapter';
import { type EventHandler, handlerFunction } from './event-handler.js';
import { dispatchPerStream } from './per-stream-dispatch.js';
import { readBatches } from './read-batches.js';
import { type ReplayOptions, type ResolvedReplayOptions, resolveReplayOptions } from './replay-options.js';

/** What a finished replay reports. */
export interface ReplayResult {
  /** Events handed to the handler. */
  readonly processed: number;
  /** Position of the last event handled; the `fromPosition` given when none was. */
  readonly lastPosition: Position;
  readonly elapsedMs: number;
}

/** A progress report, sent after every batch (and once before the first). */
export interface ReplayProgress {
  /** Events handled so far. */
  readonly processed: number;
  /** Events in the replayed range, counted before the replay started. */
  readonly total: number;
  /** Position of the last event handled (the start position before the first batch). */
  readonly position: Position;
  /** Milliseconds since the replay started. */
  readonly elapsedMs: number;
}

/** `replayWithProgress` options: those of `replayAll`, plus a known total. */
export interface ProgressReplayOptions extends ReplayOptions {
  /**
   * The number of events in the range, if you know it. When left out the replayer counts them
   * first (one extra, constant-memory read of the range) and pins the upper bound to the last
   * event counted, so `processed` ends equal to `total`.
   */
  readonly total?: number;
}

/** What `replayAggregate` reports. */
export interface AggregateReplayResult {
  readonly streamId: string;
  /** Events handed to the handler. */
  readonly processed: number;
  /** The stream's version after the last event replayed (`fromVersion` when there was none). */
  readonly version: number;
}

/**
 * Options of the {@link EventReplayer} constructor. The options of each replay (batch size of the
 * global log, type filter, upper bound, parallelism) are given to `replayAll` and
 * `replayWithProgress` instead.
 *
 * @example
 * const replayer = new EventReplayer(store, { streamBatchSize: 1000 });
 */
export interface EventReplayerOptions {
  /** Events read per round trip by `replayAggregate`. Defaults to 500. */
  readonly streamBatchSize?: number;
}

/**
 * Replays stored events into a handler: one stream (`replayAggregate`), or the global log
 * (`replayAll`, `replayWithProgress`) in batches, with an optional type filter done by the store,
 * an upper bound, and per-stream-ordered parallelism. Memory holds one batch at a time.
 *
 * @example
 * const replayer = new EventReplayer(store);
 * await replayer.replayAll(async (event) => readModel.apply(event), 0n, { batchSize: 1000 });
 */
export class EventReplayer {
  readonly #store: EventStore;
  readonly #streamBatchSize: number;

  constructor(store: EventStore, options: EventReplayerOptions = {}) {
    if (!store || typeof store.getAllEvents !== 'function') {
      throw new InvalidArgumentError('store', 'the replayer needs an EventStore.');
    }
    this.#store = store;
    this.#streamBatchSize = options.streamBatchSize ?? 500;
    assertPositiveInteger(this.#streamBatchSize, 'streamBatchSize');
  }

  /**
   * Hands the events of one stream with `version > fromVersion` to `handler`, in version order
   * (e.g. to rebuild one aggregate's read model or check its history). Defaults to the whole stream.
   */
  async replayAggregate<E extends DomainEvent = DomainEvent>(
    streamId: string,
    fromVersion = 0,
    handler?: EventHandler<E>,
  ): Promise<AggregateReplayResult> {
    assertStreamId(streamId);
    assertVersionNumber(fromVersion, 'fromVersion');
    const handle = handler ? handlerFunction(handler) : undefined;
    let version = fromVersion;
    let processed = 0;
    for (;;) {
      const events = await this.#store.getEvents<E>(streamId, version, { limit: this.#streamBatchSize });
      for (const event of events) {
        await handle?.(event, undefined);
        version = event.version;
        processed++;
      }
      if (events.length < this.#streamBatchSize) return { streamId, processed, version };
    }
  }

  /**
   * Hands every event after `fromPosition` (up to `options.toPosition`) to `handler`, in global
   * order, or per-stream order when `parallel` is set. A handler error stops the replay and rejects.
   */
  async replayAll<E extends DomainEvent = DomainEvent>(
    handler: EventHandler<E>,
    fromPosition: Position = 0n,
    options: ReplayOptions = {},
  ): Promise<ReplayResult> {
    return this.#replay(handler, fromPosition, resolveReplayOptions(options), undefined);
  }

  /**
   * `replayAll`, calling `onProgress` before the first batch and after each one with the events
   * processed, the total, the current position and the time elapsed (the spec's progress tracking).
   */
  async replayWithProgress<E extends DomainEvent = DomainEvent>(
    handler: EventHandler<E>,
    fromPosition: Position,
    options: ProgressReplayOptions,
    onProgress: (progress: ReplayProgress) => void,
  ): Promise<ReplayResult> {
    let resolved = resolveReplayOptions(options);
    let total = options.total;
    if (total === undefined) {
      const counted = await this.#count(fromPosition, resolved);
      total = counted.total;
      resolved = { ...resolved, toPosition: counted.last ?? fromPosition };
    }
    return this.#replay(handler, fromPosition, resolved, { total, onProgress });
  }

  async #replay<E extends DomainEvent>(
    handler: EventHandler<E>,
    fromPosition: Position,
    options: ResolvedReplayOptions,
    progress: { total: number; onProgress: (progress: ReplayProgress) => void } | undefined,
  ): Promise<ReplayResult> {
    const handle = handlerFunction(handler);
    const started = performance.now();
    const elapsedMs = () => performance.now() - started;
    let processed = 0;
    let lastPosition = fromPosition;
    const report = () =>
      progress?.onProgress({
        processed,
        total: progress.total,
        position: lastPosition,
        elapsedMs: elapsedMs(),
      });
    report();
    for await (const batch of readBatches<E>(this.#store, fromPosition, options)) {
      await dispatchPerStream(
        batch,
        options.concurrency,
        (event) => handle(event, undefined),
        options.signal,
      );
      processed += batch.length;
      lastPosition = batch[batch.length - 1]!.position;
      report();
    }
    return { processed, lastPosition, elapsedMs: elapsedMs() };
  }

  async #count(
    fromPosition: Position,
    options: ResolvedReplayOptions,
  ): Promise<{ total: number; last: Position | undefined }> {
    let total = 0;
    let last: Position | undefined;
    const batchSize = Math.max(options.batchSize, 1000);
    for await (const batch of readBatches<StoredEvent>(this.#store, fromPosition, {
      ...options,
      batchSize,
    })) {
      total += batch.length;
      last = batch[batch.length - 1]!.position;
    }
    return { total, last };
  }
}
