import { InvalidArgumentError, type Position } from '@es/core';
import { assertPosition, assertPositiveInteger } from '@es/core/adapter';

/** How `replayAll` and `replayWithProgress` read and dispatch the log. */
export interface ReplayOptions {
  /** Events fetched per round trip, and the unit of progress reports. Defaults to 500. */
  readonly batchSize?: number;
  /** Only events of these types; the store filters them in its query. Defaults to every type. */
  readonly eventTypes?: readonly string[];
  /** Stop after this position (inclusive). Defaults to the end of the log. */
  readonly toPosition?: Position;
  /**
   * Hand events of different streams to the handler concurrently. Events of one stream are always
   * handled one after another, in version order; batches are handled one after another.
   * `true` means a concurrency of 4. Defaults to false (one event at a time, in global order).
   */
  readonly parallel?: boolean | { readonly concurrency: number };
  /** Stops the replay between events; the replay then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface ResolvedReplayOptions {
  readonly batchSize: number;
  readonly eventTypes: readonly string[] | undefined;
  readonly toPosition: Position | undefined;
  readonly concurrency: number;
  readonly signal: AbortSignal | undefined;
}

/** Concurrency used when `parallel` is `true`. */
export const DEFAULT_PARALLELISM = 4;

/** Validates options and fills in the defaults. */
export function resolveReplayOptions(options: ReplayOptions = {}): ResolvedReplayOptions {
  const batchSize = options.batchSize ?? 500;
  assertPositiveInteger(batchSize, 'batchSize');
  if (options.toPosition !== undefined) assertPosition(options.toPosition, 'toPosition');
  if (options.eventTypes !== undefined && options.eventTypes.length === 0) {
    throw new InvalidArgumentError('eventTypes', 'name at least one event type, or leave it out.');
  }
  return {
    batchSize,
    eventTypes: options.eventTypes,
    toPosition: options.toPosition,
    concurrency: concurrencyOf(options.parallel),
    signal: options.signal,
  };
}

function concurrencyOf(parallel: ReplayOptions['parallel']): number {
  if (parallel === undefined || parallel === false) return 1;
  if (parallel === true) return DEFAULT_PARALLELISM;
  assertPositiveInteger(parallel.concurrency, 'parallel.concurrency');
  return parallel.concurrency;
}
