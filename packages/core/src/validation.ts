import { EventSerializationError, InvalidArgumentError } from './errors.js';
import { ExpectedVersion, type ExpectedVersionValue } from './expected-version.js';

/** Longest stream id or event type a store accepts; longer ids are almost always a bug. */
export const MAX_ID_LENGTH = 512;

/** Deepest nesting of arrays and objects accepted in event data and metadata (the value itself is level 1). */
export const MAX_JSON_DEPTH = 100;

/**
 * Checks a stream id (or aggregate id): a string of 1 to 512 characters, not only whitespace, no
 * NUL, no lone UTF-16 surrogate.
 */
export function assertStreamId(streamId: unknown, argument = 'stream id'): asserts streamId is string {
  assertIdentifierString(streamId, argument);
}

/** The most tags one event carries; every store refuses more the same way. */
export const MAX_TAGS_PER_EVENT = 64;

/**
 * Checks a tag: the same rules as a stream id (a stream id is usable as a tag, so the two share
 * one set of strings).
 */
export function assertTag(tag: unknown, argument = 'tag'): asserts tag is string {
  assertIdentifierString(tag, argument);
}

/**
 * Checks a list of tags (of an event, or of a query item): an array of at most
 * {@link MAX_TAGS_PER_EVENT} valid tags without duplicates, empty only when `allowEmpty`.
 * Duplicates are refused rather than dropped, so what is stored is exactly what was given.
 */
export function assertTagList(
  tags: unknown,
  argument: string,
  allowEmpty = false,
): asserts tags is readonly string[] {
  if (!Array.isArray(tags)) {
    throw new InvalidArgumentError(argument, `expected an array of tag strings, got ${describe(tags)}.`);
  }
  if (tags.length === 0 && !allowEmpty) {
    throw new InvalidArgumentError(argument, 'is empty; name at least one tag, or leave the field out.');
  }
  if (tags.length > MAX_TAGS_PER_EVENT) {
    throw new InvalidArgumentError(
      argument,
      `holds ${tags.length} tags; at most ${MAX_TAGS_PER_EVENT} are allowed.`,
    );
  }
  const seen = new Set<string>();
  for (let index = 0; index < tags.length; index++) {
    if (!(index in tags)) {
      throw new InvalidArgumentError(
        `${argument}[${index}]`,
        'is a hole in the array; pass one tag per element.',
      );
    }
    const tag: unknown = tags[index];
    assertTag(tag, `${argument}[${index}]`);
    if (seen.has(tag)) {
      throw new InvalidArgumentError(
        `${argument}[${index}]`,
        `tag "${tag}" appears twice; list each tag once.`,
      );
    }
    seen.add(tag);
  }
}

/** Checks an event type: the same rules as a stream id. */
export function assertEventType(type: unknown): asserts type is string {
  assertIdentifierString(type, 'event type');
}

function assertIdentifierString(value: unknown, argument: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(argument, `expected a string, got ${describe(value)}.`);
  }
  if (value.length === 0) throw new InvalidArgumentError(argument, 'must not be empty.');
  if (value.trim().length === 0) {
    throw new InvalidArgumentError(argument, `must not be only whitespace (got ${describe(value)}).`);
  }
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

/** The largest global position: positions are signed 64-bit integers in every store. */
export const MAX_POSITION: bigint = 2n ** 63n - 1n;

/** The largest schema version: schema versions are 32-bit integers in every store. */
export const MAX_SCHEMA_VERSION = 2 ** 31 - 1;

/** Checks a global position argument: a bigint from 0n to {@link MAX_POSITION} (2^63 - 1). */
export function assertPosition(value: unknown, argument = 'position'): asserts value is bigint {
  if (typeof value !== 'bigint' || value < 0n) {
    throw new InvalidArgumentError(
      argument,
      `expected a non-negative bigint (e.g. 0n), got ${describe(value)}.`,
    );
  }
  if (value > MAX_POSITION) {
    throw new InvalidArgumentError(
      argument,
      `${value}n is past the largest position, 2^63 - 1 (${MAX_POSITION}n): positions are 64-bit.`,
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
 * Checks that `value` survives a JSON round trip unchanged: `null`, booleans, finite numbers
 * (not -0), strings without NUL or lone surrogates, arrays without holes or extra properties, and
 * plain objects (literal, `JSON.parse` or `Object.create(null)`) without symbol keys, nested at
 * most {@link MAX_JSON_DEPTH} levels. Anything else (undefined, including a property set to
 * undefined, functions, symbols, bigint, NaN, ±Infinity, Dates, Maps and other class instances,
 * cycles) would be silently altered or lost, so it is refused with the path to the field.
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
// and indexes and only turned into text ("$.lines[2].sku") for the error message. The stack's
// length is also the number of containers around the value, which bounds the recursion.
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
      if (!Number.isFinite(value)) return `${formatPath(path)} is ${value}, which JSON cannot represent`;
      return Object.is(value, -0) ? `${formatPath(path)} is -0, which JSON stores as 0` : undefined;
    case 'object':
      return value === null ? undefined : findObjectProblem(value, path, ancestors);
    case 'undefined':
      return path.length === 0
        ? '$ is undefined'
        : `${formatPath(path)} is undefined, which JSON drops; leave the property out instead`;
    default:
      return `${formatPath(path)} is a ${typeof value}`;
  }
}

function findObjectProblem(value: object, path: Path, ancestors: Set<object>): string | undefined {
  if (path.length >= MAX_JSON_DEPTH) {
    return `${formatPath(path)} is nested ${path.length + 1} levels deep, past the maximum depth of ${MAX_JSON_DEPTH}`;
  }
  if (ancestors.has(value)) return `${formatPath(path)} is a circular reference`;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return findArrayProblem(value, path, ancestors);
    if (!isPlainObject(value)) {
      return `${formatPath(path)} is a ${value.constructor?.name ?? 'non-plain object'}, not a plain object`;
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      return `${formatPath(path)} has a symbol key, which JSON drops`;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const keyProblem = stringProblem(key);
      if (keyProblem) return `${formatPath(path)} key "${key.slice(0, 20)}" ${keyProblem}`;
      path.push(key);
      const problem = findJsonProblem(record[key], path, ancestors);
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
    const problem =
      index in value
        ? findJsonProblem(value[index], path, ancestors)
        : `${formatPath(path)} is a hole in the array, which JSON turns into null`;
    path.pop();
    if (problem) return problem;
  }
  // Own keys are the indexes and "length"; any other property (or a symbol) JSON would drop.
  if (Reflect.ownKeys(value).length !== value.length + 1) {
    return `${formatPath(path)} is an array with properties besides its elements, which JSON drops`;
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
