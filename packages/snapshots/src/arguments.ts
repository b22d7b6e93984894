import { InvalidArgumentError } from '@es/core';

/** Checks a count of events: a positive safe integer. */
export function assertEventCount(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      argument,
      `expected a positive integer number of events, got ${String(value)}.`,
    );
  }
}

/** Checks a duration in milliseconds: a positive finite number. */
export function assertDuration(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(
      argument,
      `expected a positive number of milliseconds, got ${String(value)}.`,
    );
  }
}

/** Milliseconds from `since` to `now`; `Infinity` when there is no `since`. */
export function elapsedMs(since: Date | undefined, now: Date): number {
  return since === undefined ? Number.POSITIVE_INFINITY : now.getTime() - since.getTime();
}
