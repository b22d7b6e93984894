import { describe, expect, it } from '@jest/globals';
import { ConcurrencyConflictError, InvalidArgumentError } from './errors.js';
import { backoffDelay, retryOnConcurrencyConflict } from './retry.js';

const conflict = () => new ConcurrencyConflictError('s', 1, 2);

describe('retryOnConcurrencyConflict', () => {
  it('retries conflicts until the operation succeeds', async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await retryOnConcurrencyConflict(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw conflict();
        return 'done';
      },
      { backoff: { initialDelayMs: 0 }, onRetry: (_, attempt) => retries.push(attempt) },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('gives up after maxRetries and throws the last conflict', async () => {
    let calls = 0;
    const failing = retryOnConcurrencyConflict(
      async () => {
        calls++;
        throw conflict();
      },
      { maxRetries: 2, backoff: { initialDelayMs: 0 } },
    );
    await expect(failing).rejects.toBeInstanceOf(ConcurrencyConflictError);
    expect(calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    const failing = retryOnConcurrencyConflict(async () => {
      calls++;
      throw new Error('domain rule');
    });
    await expect(failing).rejects.toThrow('domain rule');
    expect(calls).toBe(1);
  });

  it('refuses a negative maxRetries', async () => {
    await expect(retryOnConcurrencyConflict(async () => 1, { maxRetries: -1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('backs off exponentially up to the maximum, with jitter within half of the delay', () => {
    const fixed = { initialDelayMs: 10, factor: 2, maxDelayMs: 50, jitter: false };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, fixed))).toEqual([10, 20, 40, 50, 50]);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(3, { initialDelayMs: 10 });
      expect(delay).toBeGreaterThanOrEqual(20);
      expect(delay).toBeLessThanOrEqual(40);
    }
  });
});
