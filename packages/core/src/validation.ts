import { EventSerializationError, InvalidArgumentError } from './errors.js';
import { ExpectedVersion, type ExpectedVersionValue } from './expected-version.js';

/** Longest stream id or event type a store accepts; longer ids are almost always a bug. */
export const MAX_ID_LENGTH = 512;

/** Checks a stream id (or aggregate id): a non-empty string of at most 512 characters, no NUL. */
export function assertStreamId(streamId: unknown, argument = 'stream id'): asserts streamId is string {
  assertIdentifierString(streamId, argument);
}

/** Checks an event type: a non-empty string of at most 512 characters, no NUL. */
export function assertEventType(type: unknown): asserts type is string {
  assertIdentifierString(type, 'event type');
}

function assertIdentifierString(value: unknown, argument: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(argument, `expected a string, got ${describe(value)}.`);
  }
  if (value.length === 0) throw new InvalidArgumentError(argument, 'must not be empty.');
  if (value.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(
      argument,
      `must be at most ${MAX_ID_LENGTH} characters (got ${value.length}).`,
    );
  }
  if (value.includes('\u0000')) throw new InvalidArgumentError(argument, 'must not contain NUL characters.');
  if (!isWellFormed(value)) {
    throw new InvalidArgumentError(
      argument,
      'contains a lone UTF-16 surrogate, which databases store as U+FFFD (two different ids would collide).',
    );
  }
}

/** Checks an expected version: a non-negative safe integer or an `ExpectedVersion` marker. */
export function assertExpectedVersion(value: unknown): asserts value is ExpectedVersionValue {
  if (typeof value === 'number') {
    assertVersionNumber(value, 'expected version');
    return;
  }
  const markers: readonly unknown[] = Object.values(ExpectedVersion);
  if (!markers.includes(value)) {
    throw new InvalidArgumentError(
      'expected version',
      `expected a non-negative integer or one of ${markers.map((m) => `"${String(m)}"`).join(', ')}, got ${describe(value)}.`,
    );
  }
}

/** Checks a stream version argument: a non-negative safe integer. */
export function assertVersionNumber(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(argument, `expected a non-negative integer, got ${describe(value)}.`);
  }
}

/** Checks a global position argument: a non-negative bigint. */
export function assertPosition(value: unknown, argument = 'position'): asserts value is bigint {
  if (typeof value !== 'bigint' || value < 0n) {
    throw new InvalidArgumentError(
      argument,
      `expected a non-negative bigint (e.g. 0n), got ${describe(value)}.`,
    );
  }
}

/** Checks a batch size or limit: a positive safe integer. */
export function assertPositiveInteger(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(argument, `expected a positive integer, got ${describe(value)}.`);
  }
}

/**
 * Checks that `value` survives a JSON round trip unchanged: plain objects, arrays, strings without
 * NUL, finite numbers, booleans and null. Anything else (Date, Map, bigint, NaN, functions, class
 * instances, cycles) would be silently altered or lost, so it is refused with the path to the field.
 * Properties whose value is `undefined` are allowed and dropped, as optional fields are.
 */
export function assertJsonSerializable(value: unknown, what: string, eventType?: string): void {
  const problem = findJsonProblem(value, [], new Set());
  if (problem) {
    throw new EventSerializationError(
      `Cannot store ${what}${eventType ? ` of event "${eventType}"` : ''}: ${problem}. ` +
        'Event data must be plain JSON; convert dates to ISO strings and big numbers to strings.',
      eventType,
    );
  }
}

// The walk runs on every event of every append, so the path to a field is kept as a stack of keys
// and indexes and only turned into text ("$.lines[2].sku") for the error message.
type Path = (string | number)[];

function formatPath(path: Path): string {
  let text = '$';
  for (const segment of path) text += typeof segment === 'number' ? `[${segment}]` : `.${segment}`;
  return text;
}

function findJsonProblem(value: unknown, path: Path, ancestors: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string': {
      const problem = stringProblem(value);
      return problem && `${formatPath(path)} ${problem}`;
    }
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : `${formatPath(path)} is ${value}, which JSON cannot represent`;
    case 'object':
      return value === null ? undefined : findObjectProblem(value, path, ancestors);
    default:
      return `${formatPath(path)} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
  }
}

function findObjectProblem(value: object, path: Path, ancestors: Set<object>): string | undefined {
  if (ancestors.has(value)) return `${formatPath(path)} is a circular reference`;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return findArrayProblem(value, path, ancestors);
    if (!isPlainObject(value)) {
      return `${formatPath(path)} is a ${value.constructor?.name ?? 'non-plain object'}, not a plain object`;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const keyProblem = stringProblem(key);
      if (keyProblem) return `${formatPath(path)} key "${key.slice(0, 20)}" ${keyProblem}`;
      const child = record[key];
      if (child === undefined) continue;
      path.push(key);
      const problem = findJsonProblem(child, path, ancestors);
      path.pop();
      if (problem) return problem;
    }
    return undefined;
  } finally {
    ancestors.delete(value);
  }
}

// Strings survive UTF-8 storage unchanged only without NUL and without lone surrogates.
function stringProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (!isWellFormed(value)) return 'contains a lone UTF-16 surrogate, which UTF-8 storage would replace';
  return undefined;
}

const isWellFormed = (value: string): boolean =>
  (value as string & { isWellFormed(): boolean }).isWellFormed();

// Plain: made by a literal, JSON.parse or Object.create(null), in this realm or another (vm, jest).
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function findArrayProblem(value: unknown[], path: Path, ancestors: Set<object>): string | undefined {
  for (let index = 0; index < value.length; index++) {
    path.push(index);
    const problem = findJsonProblem(value[index], path, ancestors);
    path.pop();
    if (problem) return problem;
  }
  return undefined;
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (value === undefined) return 'undefined';
  return `${typeof value} ${String(value)}`;
}
