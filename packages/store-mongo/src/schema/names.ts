import { InvalidArgumentError } from '@es/core';

// MongoDB accepts far more than this in names, but a name from configuration that needs more is
// almost always a mistake (or an injection attempt), so the rules are deliberately narrow.
const DATABASE_NAME = /^[A-Za-z0-9_-]{1,63}$/;
const COLLECTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/** Longest collection name accepted; derived names (e.g. `<events>_positions`) must still fit. */
export const MAX_COLLECTION_NAME_LENGTH = 100;

/**
 * Checks a database name from configuration: 1 to 63 characters among letters, digits, `_` and `-`.
 * Throws `InvalidArgumentError` otherwise, before any request reaches the server.
 */
export function assertDatabaseName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !DATABASE_NAME.test(name)) {
    throw new InvalidArgumentError(
      'database name',
      `expected 1 to 63 letters, digits, "_" or "-", got ${show(name)}.`,
    );
  }
}

/**
 * Checks a collection name from configuration: starts with a letter or `_`, then letters, digits,
 * `_`, `-` and single dots between parts, at most 100 characters, and not in the `system.` namespace.
 * Throws `InvalidArgumentError` otherwise.
 */
export function assertCollectionName(name: unknown, argument = 'collection name'): asserts name is string {
  if (typeof name !== 'string' || name.length > MAX_COLLECTION_NAME_LENGTH || !COLLECTION_NAME.test(name)) {
    throw new InvalidArgumentError(
      argument,
      `expected at most ${MAX_COLLECTION_NAME_LENGTH} letters, digits, "_", "-" or single inner dots, ` +
        `starting with a letter or "_", got ${show(name)}.`,
    );
  }
  if (name.startsWith('system.')) {
    throw new InvalidArgumentError(argument, `"${name}" is in MongoDB's reserved "system." namespace.`);
  }
}

/**
 * An option left out (`undefined`) takes its default; any other value, `null` included, is used as
 * given and checked, so a wrong value is refused instead of silently replaced by the default.
 */
export function optionOr<T>(value: T | null | undefined, fallback: T): T {
  return value === undefined ? fallback : (value as T);
}

/** Checks a boolean option (`autoMigrate`): `true`, `false`, or left out. */
export function assertBooleanOption(value: unknown, argument: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError(
      argument,
      `expected true or false, got ${show(value)}; leave it out for the default.`,
    );
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 70 ? `${value.slice(0, 70)}…` : value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * Checks a whole-number option (`appendTimeoutMs`, `maxBatchBytes`, `indexBuildTimeoutMs`) against
 * its range. Throws `InvalidArgumentError` naming the option otherwise.
 */
export function assertIntegerOption(
  value: unknown,
  argument: string,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      argument,
      `expected a whole number from ${min} to ${max}, got ${typeof value === 'number' ? value : show(value)}; ` +
        'leave it out for the default.',
    );
  }
}

const PARTITION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks a partition name (the event store's `partition`): 1-64 letters, digits, `_` and `-`. */
export function assertPartitionName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !PARTITION_NAME.test(name)) {
    throw new InvalidArgumentError(
      'partition',
      `expected 1 to 64 letters, digits, "_" or "-" (it becomes part of a collection name), got ${show(name)}.`,
    );
  }
}
