import { type BuiltIn, builtInBrand, isExactBuiltIn } from './built-in-types.js';
import { SnapshotSerializationError } from './snapshot-serialization-error.js';
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

/**
 * How many codec values may nest inside each other on one path before encoding stops: a codec whose
 * `encode` keeps returning values that need a codec again would otherwise recurse until a RangeError.
 */
export const MAX_CODEC_NESTING = 100;

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type Codecs = ReadonlyMap<string, SnapshotTypeCodec>;

const tagged = (tag: string, payload?: JsonValue): JsonValue =>
  payload === undefined ? { [TAG_KEY]: tag } : { [TAG_KEY]: tag, [PAYLOAD_KEY]: payload };

const cannotSerialize = (path: string, reason: string, cause?: unknown) =>
  new SnapshotSerializationError('serialize', path, reason, { cause });

const cannotDeserialize = (path: string, reason: string, cause?: unknown) =>
  new SnapshotSerializationError('deserialize', path, reason, { cause });

/** Encodes a value into tagged JSON; throws `SnapshotSerializationError` naming the path of what it cannot. */
export function encodeTagged(value: unknown, codecs: Codecs): JsonValue {
  return new Encoder(codecs).encode(value, '$');
}

/** Decodes tagged JSON produced by {@link encodeTagged} with the same codecs; refuses anything else. */
export function decodeTagged(value: unknown, codecs: Codecs): unknown {
  return decode(value, codecs, '$');
}

class Encoder {
  readonly #ancestors = new Set<object>();
  #codecNesting = 0;
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
        throw cannotSerialize(path, `${path} is a ${typeof value}, which has no JSON form`);
    }
  }

  #encodeObject(value: object, path: string): JsonValue {
    if (this.#ancestors.has(value)) throw cannotSerialize(path, `${path} is a circular reference`);
    this.#ancestors.add(value);
    try {
      return this.#encodeKnownObject(value, path);
    } finally {
      this.#ancestors.delete(value);
    }
  }

  // Codecs first, so a subclass of a built-in type can have one; then exact built-ins and plain
  // objects. Anything else (a class instance, a subclass of Map…) would lose its type: refused.
  #encodeKnownObject(value: object, path: string): JsonValue {
    for (const codec of this.codecs.values()) {
      if (codec.matches(value)) return tagged(codec.tag, this.#encodeCustom(codec, value, path));
    }
    const builtIn = builtInBrand(value);
    if (builtIn !== undefined) {
      if (!isExactBuiltIn(value, builtIn)) throw cannotSerialize(path, notExact(value, builtIn, path));
      return this.#encodeBuiltIn(value, builtIn, path);
    }
    if (!isPlainObject(value)) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name || 'non-plain object';
      throw cannotSerialize(
        path,
        `${path} is a ${name}; register a SnapshotTypeCodec for it or store plain data`,
      );
    }
    return this.#encodePlain(value as Record<string, unknown>, path);
  }

  #encodeBuiltIn(value: object, builtIn: BuiltIn, path: string): JsonValue {
    switch (builtIn) {
      case 'Array':
        return Array.from(value as unknown[], (item, index) => this.encode(item, `${path}[${index}]`));
      case 'Date': {
        const time = (value as Date).getTime();
        return tagged('Date', Number.isNaN(time) ? null : (value as Date).toISOString());
      }
      case 'Map':
        return tagged(
          'Map',
          Array.from(value as Map<unknown, unknown>, ([key, item], index) => [
            this.encode(key, `${path}.<key ${index}>`),
            this.encode(item, `${path}.get(${describeKey(key)})`),
          ]),
        );
      case 'Set':
        return tagged(
          'Set',
          Array.from(value as Set<unknown>, (item, index) => this.encode(item, `${path}.<item ${index}>`)),
        );
    }
  }

  #encodeCustom(codec: SnapshotTypeCodec, value: unknown, path: string): JsonValue {
    let payload: unknown;
    try {
      payload = codec.encode(value);
    } catch (error) {
      throw cannotSerialize(path, `the "${codec.tag}" codec failed at ${path}`, error);
    }
    if (typeof payload === 'object' && payload !== null && codec.matches(payload)) {
      throw cannotSerialize(
        path,
        `the "${codec.tag}" codec's encode returned a value that codec matches again, at ${path}, so ` +
          'encoding would never end; return plain data (or values of other types) from encode',
      );
    }
    const inner = `${path}<${codec.tag}>`;
    if (this.#codecNesting >= MAX_CODEC_NESTING) {
      throw cannotSerialize(
        inner,
        `codec values nested more than ${MAX_CODEC_NESTING} deep at ${shorten(inner)}; does a codec's ` +
          'encode return values that need encoding again without end?',
      );
    }
    this.#codecNesting++;
    try {
      return this.encode(payload, inner);
    } finally {
      this.#codecNesting--;
    }
  }

  #encodePlain(value: Record<string, unknown>, path: string): JsonValue {
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw cannotSerialize(path, `${path} has symbol keys`);
    }
    const encoded: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value)) {
      setOwn(encoded, key, this.encode(value[key], `${path}.${key}`));
    }
    // A plain object that happens to have the tag key is wrapped, so decoding cannot mistake it.
    return Object.hasOwn(value, TAG_KEY) ? tagged('Object', encoded) : encoded;
  }
}

function notExact(value: object, builtIn: BuiltIn, path: string): string {
  const ctor = (Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor;
  const name = typeof ctor === 'function' ? ctor.name : '';
  const what =
    name && name !== builtIn
      ? `a ${name}, a subclass of ${builtIn}`
      : `a ${builtIn} with a replaced prototype`;
  return (
    `${path} is ${what}: register a SnapshotTypeCodec for it, or store a plain ${builtIn} ` +
    `(it would come back as a plain ${builtIn}, without its own methods)`
  );
}

function decode(value: unknown, codecs: Codecs, path: string): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'object':
      if (value === null) return value;
      if (Array.isArray(value)) return value.map((item, index) => decode(item, codecs, `${path}[${index}]`));
      if (!Object.hasOwn(value, TAG_KEY)) return decodePlain(value as Record<string, unknown>, codecs, path);
      return decodeTaggedValue(value as Record<string, unknown>, codecs, path);
  }
  throw cannotDeserialize(path, `${path} is ${String(value)}, which is not JSON`);
}

function decodePlain(record: Record<string, unknown>, codecs: Codecs, path: string): Record<string, unknown> {
  const decoded: Record<string, unknown> = {};
  for (const key of Object.keys(record)) setOwn(decoded, key, decode(record[key], codecs, `${path}.${key}`));
  return decoded;
}

function decodeTaggedValue(record: Record<string, unknown>, codecs: Codecs, path: string): unknown {
  const tag = record[TAG_KEY];
  const extra = Object.keys(record).find((key) => key !== TAG_KEY && key !== PAYLOAD_KEY);
  if (extra !== undefined) {
    throw cannotDeserialize(
      path,
      `the tagged value at ${path} has the unexpected key ${JSON.stringify(extra)}`,
    );
  }
  const hasPayload = Object.hasOwn(record, PAYLOAD_KEY);
  if (tag === 'undefined') {
    if (hasPayload) throw malformed('undefined', path, 'no payload');
    return undefined;
  }
  const codec = typeof tag === 'string' ? codecs.get(tag) : undefined;
  if (codec === undefined && !(typeof tag === 'string' && BUILT_IN_TAGS.includes(tag))) {
    throw cannotDeserialize(
      path,
      `${path} has the unknown tag ${JSON.stringify(tag)}. Register a SnapshotTypeCodec for it, or bump ` +
        'the snapshot version when the state changes shape',
    );
  }
  if (!hasPayload) throw malformed(String(tag), path, 'a payload');
  const payload = record[PAYLOAD_KEY];
  if (codec) return decodeCustom(codec, decode(payload, codecs, `${path}<${codec.tag}>`), path);
  switch (tag) {
    case 'Date':
      return parseDate(payload, path);
    case 'bigint':
      return parseBigInt(payload, path);
    case 'number':
      return parseSpecialNumber(payload, path);
    case 'Map':
      return decodeMap(expectArray(payload, 'Map', path), codecs, path);
    case 'Set':
      return decodeSet(expectArray(payload, 'Set', path), codecs, path);
    default: // 'Object'
      return decodePlain(expectObject(payload, 'Object', path), codecs, path);
  }
}

function decodeCustom(codec: SnapshotTypeCodec, payload: unknown, path: string): unknown {
  let decoded: unknown;
  let matches: boolean;
  try {
    decoded = codec.decode(payload);
    matches = codec.matches(decoded);
  } catch (error) {
    throw cannotDeserialize(path, `the "${codec.tag}" codec failed to decode ${path}`, error);
  }
  if (!matches) {
    throw cannotDeserialize(
      path,
      `the "${codec.tag}" codec's decode returned a value its matches() refuses, at ${path}`,
    );
  }
  return decoded;
}

function decodeMap(entries: unknown[], codecs: Codecs, path: string): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  entries.forEach((entry, index) => {
    const at = `${path}[${index}]`;
    if (!Array.isArray(entry) || entry.length !== 2) throw malformed('Map', at, 'a [key, value] pair');
    const key = decode(entry[0], codecs, `${at}[0]`);
    if (map.has(key)) throw malformed('Map', at, 'a pair, not a duplicate key');
    map.set(key, decode(entry[1], codecs, `${at}[1]`));
  });
  return map;
}

function decodeSet(items: unknown[], codecs: Codecs, path: string): Set<unknown> {
  const set = new Set<unknown>();
  items.forEach((item, index) => {
    const at = `${path}[${index}]`;
    const decoded = decode(item, codecs, at);
    if (set.has(decoded)) throw malformed('Set', at, 'an item, not a duplicate item');
    set.add(decoded);
  });
  return set;
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

function malformed(tag: string, path: string, expected: string): SnapshotSerializationError {
  return cannotDeserialize(path, `the "${tag}" value at ${path} should hold ${expected}`);
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

// Exactly what toISOString() writes (or null for an invalid date): anything else is corrupt data.
function parseDate(payload: unknown, path: string): Date {
  if (payload === null) return new Date(Number.NaN);
  const date = typeof payload === 'string' ? new Date(payload) : undefined;
  if (date === undefined || Number.isNaN(date.getTime()) || date.toISOString() !== payload) {
    throw malformed('Date', path, 'an ISO 8601 string as Date#toISOString() writes it, or null');
  }
  return date;
}

function parseSpecialNumber(payload: unknown, path: string): number {
  if (payload === '-0') return -0;
  if (payload === 'NaN' || payload === 'Infinity' || payload === '-Infinity') return Number(payload);
  throw malformed('number', path, '"NaN", "Infinity", "-Infinity" or "-0"');
}

// Exactly what bigint#toString() writes: no sign on zero, no leading zeros, spaces, "0x" or "".
function parseBigInt(payload: unknown, path: string): bigint {
  if (typeof payload !== 'string' || !/^(?:0|-?[1-9]\d*)$/.test(payload)) {
    throw malformed('bigint', path, 'a decimal integer string as bigint#toString() writes it');
  }
  return BigInt(payload);
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' ? 'object' : String(key);
}

function shorten(path: string): string {
  return path.length <= 160 ? path : `${path.slice(0, 80)}…${path.slice(-60)}`;
}
