import { isStoreClosedError } from '@es/core';
import { expect } from '@jest/globals';

/**
 * Runs `call` and returns what it threw or rejected with (for an async iterable: what its first
 * step rejected with). Fails the test when the call succeeds.
 *
 * @example
 * const error = await failureOf(() => store.getEvents('s'));
 * expect(isStoreNotMigratedError(error)).toBe(true);
 */
export async function failureOf(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
      for await (const _ of result as AsyncIterable<unknown>) break;
    } else {
      await result;
    }
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/**
 * Asserts that every call of a closed store fails with `StoreClosedError` naming the store, and
 * that the message does not suggest a retry (a closed store is not a passing fault).
 *
 * @example
 * await store.close();
 * await expectStoreClosed('PostgresEventStore', { getEvents: () => store.getEvents('s') });
 */
export async function expectStoreClosed(store: string, calls: Record<string, () => unknown>): Promise<void> {
  for (const [method, call] of Object.entries(calls)) {
    const error = await failureOf(call);
    expect({ method, closed: isStoreClosedError(error) }).toEqual({ method, closed: true });
    expect((error as Error).message).toContain(`${store} is closed`);
    expect((error as Error).message).not.toMatch(/retrying|event ids/i);
  }
}
