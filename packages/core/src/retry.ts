import { InvalidArgumentError, isConcurrencyConflictError } from './errors.js';

/**
 * How long {@link retryOnConcurrencyConflict} waits between attempts: exponential backoff from
 * 10 ms, doubling, capped at 1 s, with jitter, unless set otherwise.
 */
export interface BackoffOptions {
  /** Delay before the first retry. Defaults to 10 ms. */
  readonly initialDelayMs?: number;
  /** Each delay is the previous one times this. Defaults to 2. */
  readonly factor?: number;
  /** Upper bound of a delay. Defaults to 1,000 ms. */
  readonly maxDelayMs?: number;
  /** Randomises each delay between half and all of it, so writers do not retry in lockstep. Defaults to true. */
  readonly jitter?: boolean;
}

/** Options of {@link retryOnConcurrencyConflict}: how many retries (defaults to 3) and how long to wait. */
export interface RetryOptions {
  /** Retries after the first attempt. Defaults to 3. */
  readonly maxRetries?: number;
  /** The waits between attempts. Defaults to the defaults of {@link BackoffOptions}. */
  readonly backoff?: BackoffOptions;
  /** Called before each retry with the conflict and the attempt number that failed (1-based). */
  readonly onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * Runs `operation` and, while it fails with `ConcurrencyConflictError`, waits and runs it again:
 * the specification's reload-and-retry loop. Any other error, or the last conflict, is thrown.
 * `operation` must reload what it changes on every attempt.
 *
 * @example
 * await retryOnConcurrencyConflict(async () => {
 *   const account = await repository.getById('acc-1');
 *   account.deposit(10);
 *   await repository.save(account);
 * }, { maxRetries: 5 });
 */
export function retryOnConcurrencyConflict<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  return retryWhile(isConcurrencyConflictError, operation, options);
}

/** Runs `operation` again, with backoff, while it fails with an error `retryable` accepts. */
export async function retryWhile<T>(
  retryable: (error: unknown) => boolean,
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const maxRetries = options.maxRetries ?? 3;
  if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) {
    throw new InvalidArgumentError(
      'maxRetries',
      `expected a non-negative integer, got ${String(maxRetries)}.`,
    );
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!retryable(error) || attempt > maxRetries) throw error;
      options.onRetry?.(error, attempt);
      await sleep(backoffDelay(attempt, options.backoff));
    }
  }
}

/** The delay before retry number `attempt` (1-based). */
export function backoffDelay(attempt: number, backoff: BackoffOptions = {}): number {
  const initial = backoff.initialDelayMs ?? 10;
  const factor = backoff.factor ?? 2;
  const max = backoff.maxDelayMs ?? 1000;
  const delay = Math.min(max, initial * factor ** (attempt - 1));
  return backoff.jitter === false ? delay : delay / 2 + Math.random() * (delay / 2);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
