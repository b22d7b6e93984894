import { types } from 'node:util';
import { EventSerializationError } from '@es/core';
import type { SnapshotTypeCodec } from './snapshot-type-codec.js';

/** The key that marks a tagged value: `{ "$es": "<tag>", "v": <payload> }`. */
export const TAG_KEY = '$es';
/** The key of a tagged value's payload. */
export const PAYLOAD_KEY = 'v';

/** Tags the serializer writes itself; a custom codec may not reuse them. */
export const BUILT_IN_TAGS: readonly string[] = [
  'Date',
  'bigint',
  'number',
  'undefined',
  'Map',
  'Set',
  'Object',
];

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type Codecs = ReadonlyMap<string, SnapshotTypeCodec>;

const tagged = (tag: string, payload?: JsonValue): JsonValue =>
  payload === undefined ? { [TAG_KEY]: tag } : { [TAG_KEY]: tag, [PAYLOAD_KEY]: payload };

function failure(message: string, cause?: unknown): EventSerializationError {
  return new EventSerializationError(`Cannot serialize the snapshot state: ${message}.`, undefined, {
    cause,
  });
}

/** Encodes a value into tagged JSON; throws `EventSerializationError` naming the path of what it cannot. */
export function encodeTagged(value: unknown, codecs: Codecs): JsonValue {
  return new Encoder(codecs).encode(value, '$');
}

/** Decodes tagged JSON produced by {@link encodeTagged} with the same codecs. */
export function decodeTagged(value: unknown, codecs: Codecs): unknown {
  return decode(value, codecs, '$');
}

class Encoder {
  readonly #ancestors = new Set<object>();
  constructor(readonly codecs: Codecs) {}

  encode(value: unknown, path: string): JsonValue {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (Object.is(value, -0)) return tagged('number', '-0');
        return Number.isFinite(value) ? value : tagged('number', String(value));
      case 'bigint':
        return tagged('bigint', value.toString());
      case 'undefined':
        return tagged('undefined');
      case 'object':
        return value === null ? null : this.#encodeObject(value, path);
      default:
        throw failure(`${path} is a ${typeof value}, which has no JSON form`);
    }
  }

  #encodeObject(value: object, path: string): JsonValue {
    if (this.#ancestors.has(value)) throw failure(`${path} is a circular reference`);
    this.#ancestors.add(value);
    try {
      return this.#encodeKnownObject(value, path);
    } finally {
      this.#ancestors.delete(value);
    }
  }

  #encodeKnownObject(value: object, path: string): JsonValue {
    for (const codec of this.codecs.values()) {
      if (codec.matches(value)) return tagged(codec.tag, this.#encodeCustom(codec, value, path));
    }
    if (Array.isArray(value))
      return Array.from(value, (item, index) => this.encode(item, `${path}[${index}]`));
    if (types.isDate(value)) {
      return tagged('Date', Number.isNaN(value.getTime()) ? null : value.toISOString());
    }
    if (types.isMap(value)) {
      return tagged(
        'Map',
        Array.from(value, ([key, item], index) => [
          this.encode(key, `${path}.<key ${index}>`),
          this.encode(item, `${path}.get(${describeKey(key)})`),
        ]),
      );
    }
    if (types.isSet(value)) {
      return tagged(
        'Set',
        Array.from(value, (item, index) => this.encode(item, `${path}.<item ${index}>`)),
      );
    }
    if (!isPlainObject(value)) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object';
      throw failure(`${path} is a ${name}; register a SnapshotTypeCodec for it or store plain data`);
    }
    return this.#encodePlain(value as Record<string, unknown>, path);
  }

  #encodeCustom(codec: SnapshotTypeCodec, value: unknown, path: string): JsonValue {
    let payload: unknown;
    try {
      payload = codec.encode(value);
    } catch (error) {
      throw failure(`the "${codec.tag}" codec failed at ${path}`, error);
    }
    return this.encode(payload, `${path}<${codec.tag}>`);
  }

  #encodePlain(value: Record<string, unknown>, path: string): JsonValue {
    if (Object.getOwnPropertySymbols(value).length > 0) throw failure(`${path} has symbol keys`);
    const encoded: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value)) {
      setOwn(encoded, key, this.encode(value[key], `${path}.${key}`));
    }
    // A plain object that happens to have the tag key is wrapped, so decoding cannot mistake it.
    return Object.hasOwn(value, TAG_KEY) ? tagged('Object', encoded) : encoded;
  }
}

function decode(value: unknown, codecs: Codecs, path: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item, index) => decode(item, codecs, `${path}[${index}]`));
  const record = value as Record<string, unknown>;
  if (!Object.hasOwn(record, TAG_KEY)) return decodePlain(record, codecs, path);
  return decodeTaggedValue(record[TAG_KEY], record[PAYLOAD_KEY], codecs, path);
}

function decodePlain(record: Record<string, unknown>, codecs: Codecs, path: string): Record<string, unknown> {
  const decoded: Record<string, unknown> = {};
  for (const key of Object.keys(record)) setOwn(decoded, key, decode(record[key], codecs, `${path}.${key}`));
  return decoded;
}

function decodeTaggedValue(tag: unknown, payload: unknown, codecs: Codecs, path: string): unknown {
  const codec = typeof tag === 'string' ? codecs.get(tag) : undefined;
  if (codec) return codec.decode(decode(payload, codecs, `${path}<${tag}>`));
  switch (tag) {
    case 'Date':
      return payload === null ? new Date(Number.NaN) : new Date(expectString(payload, tag, path));
    case 'bigint':
      return parseBigInt(expectString(payload, tag, path), path);
    case 'number':
      return parseSpecialNumber(expectString(payload, tag, path), path);
    case 'undefined':
      return undefined;
    case 'Map':
      return new Map(
        expectArray(payload, tag, path).map((entry, index) => {
          const [key, item] = expectArray(entry, tag, `${path}[${index}]`);
          return [decode(key, codecs, path), decode(item, codecs, path)];
        }),
      );
    case 'Set':
      return new Set(expectArray(payload, tag, path).map((item) => decode(item, codecs, path)));
    case 'Object':
      return decodePlain(expectObject(payload, tag, path), codecs, path);
    default:
      throw new EventSerializationError(
        `Cannot deserialize the snapshot state: ${path} has the unknown tag ${JSON.stringify(tag)}. ` +
          'Register a SnapshotTypeCodec for it, or bump the snapshot version when the state changes shape.',
      );
  }
}

// Plain: created by a literal, JSON.parse or Object.create(null), in this realm or another (jest, vm).
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

// Defines `key` as an own property, so a "__proto__" key stays data and never replaces the prototype.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function malformed(tag: string, path: string, expected: string): EventSerializationError {
  return new EventSerializationError(
    `Cannot deserialize the snapshot state: the "${tag}" value at ${path} should hold ${expected}.`,
  );
}

function expectString(payload: unknown, tag: string, path: string): string {
  if (typeof payload !== 'string') throw malformed(tag, path, 'a string');
  return payload;
}

function expectArray(payload: unknown, tag: string, path: string): unknown[] {
  if (!Array.isArray(payload)) throw malformed(tag, path, 'an array');
  return payload;
}

function expectObject(payload: unknown, tag: string, path: string): Record<string, unknown> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw malformed(tag, path, 'an object');
  }
  return payload as Record<string, unknown>;
}

function parseSpecialNumber(text: string, path: string): number {
  if (text === '-0') return -0;
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return Number(text);
  throw malformed('number', path, '"NaN", "Infinity", "-Infinity" or "-0"');
}

function parseBigInt(text: string, path: string): bigint {
  try {
    return BigInt(text);
  } catch {
    throw malformed('bigint', path, 'a decimal integer string');
  }
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' ? 'object' : String(key);
}
