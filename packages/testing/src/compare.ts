import { isSnapshotCapable } from '@es/core';
import { expect } from '@jest/globals';

/** A comparable view of an aggregate's state: its snapshot when it has one, else its own fields. */
export function stateOf(aggregate: object): unknown {
  if (isSnapshotCapable(aggregate)) return aggregate.createSnapshot();
  return { ...aggregate };
}

/** Runs a jest assertion and, when it fails, prefixes the failure with an explanation. */
export function explain(reason: string, assertion: () => void): void {
  try {
    assertion();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`${reason}\n\n${detail}`);
  }
}

/** The `{ type, data }` of events, without ids or metadata, for comparing with expectations. */
export const typeAndData = (events: readonly { type: string; data: unknown }[]) =>
  events.map(({ type, data }) => ({ type, data }));

/**
 * What `thenThrows` checks the error against: a substring of its message, a pattern its message
 * matches, or a class it is an instance of. Left out, any `Error` matches.
 */
export type ErrorMatcher = string | RegExp | (new (...args: never[]) => Error);

/** Asserts `error` matches a message substring, a pattern or a class. */
export function expectErrorMatching(error: unknown, matcher: ErrorMatcher | undefined): void {
  expect(error).toBeInstanceOf(Error);
  if (matcher === undefined) return;
  if (typeof matcher === 'function') expect(error).toBeInstanceOf(matcher);
  else if (typeof matcher === 'string') expect((error as Error).message).toContain(matcher);
  else expect((error as Error).message).toMatch(matcher);
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
