import { EventSerializationError, InvalidArgumentError } from '@es/core';
import { Int32, Long } from 'mongodb';

// Safe conversions between BSON values and the JS types the event-store contract uses. Documents
// are read with `promoteValues: false`, so every number arrives wrapped (Int32, Double, Long,
// Decimal128) whatever the client's settings, and is converted here, explicitly and without loss.
// BSON classes are recognised by their `_bsontype` tag, not `instanceof`, so values from another
// copy of the bson package are handled too.

type Tagged = { readonly _bsontype: string };

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const LONG_MAX = 2n ** 63n - 1n;

function bsonType(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const tag = (value as Partial<Tagged>)._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

function corrupt(field: string, expected: string, value: unknown): EventSerializationError {
  return new EventSerializationError(
    `Stored field "${field}" should hold ${expected}, but holds ${describeBson(value)}. ` +
      'The document was not written by this store, or was edited by hand.',
  );
}

function describeBson(value: unknown): string {
  const tag = bsonType(value);
  if (tag) return `a BSON ${tag} (${String(value)})`;
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}

/**
 * The exact integer a BSON number holds, as a bigint, or `undefined` when it holds no integer
 * (a fraction, NaN, a string, ...). Accepts JS numbers and bigints, Int32, Double, Long and Decimal128.
 */
export function integerOf(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : undefined;
  switch (bsonType(value)) {
    case 'Int32':
    case 'Double':
      return integerOf((value as { value: number }).value);
    case 'Long':
      return (value as Long).toBigInt();
    case 'Decimal128': {
      const decimal = parseDecimal(String(value));
      return decimal && decimal.exponent >= 0 && decimal.exponent <= 40
        ? decimal.sign * BigInt(decimal.digits || '0') * 10n ** BigInt(decimal.exponent)
        : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Reads a stream version or schema version: any BSON integer width, returned as a JS number.
 * Throws `EventSerializationError` for a fraction, a non-number, or a value past 2^53.
 */
export function readSafeInteger(value: unknown, field: string): number {
  const integer = integerOf(value);
  if (integer === undefined || integer > BigInt(Number.MAX_SAFE_INTEGER) || integer < 0n) {
    throw corrupt(field, 'a non-negative integer below 2^53', value);
  }
  return Number(integer);
}

/** Reads a global position: any BSON integer width, returned as a bigint. */
export function readPosition(value: unknown, field = 'position'): bigint {
  const integer = integerOf(value);
  if (integer === undefined || integer < 0n || integer > LONG_MAX) {
    throw corrupt(field, 'a non-negative 64-bit integer', value);
  }
  return integer;
}

/** Reads a string field of the envelope (stream id, event id, type). */
export function readString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw corrupt(field, 'a string', value);
  return value;
}

/** Reads a date field of the envelope (the commit timestamp). */
export function readDate(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw corrupt(field, 'a date', value);
  return value;
}

/** Encodes a version-like integer as the narrowest BSON integer: Int32 when it fits, else Int64. */
export function toBsonInteger(value: number): Int32 | Long {
  if (!Number.isSafeInteger(value)) {
    throw new InvalidArgumentError('integer', `expected a safe integer, got ${value}.`);
  }
  return value >= INT32_MIN && value <= INT32_MAX ? new Int32(value) : Long.fromNumber(value);
}

/** Encodes a global position as a BSON Int64, the type every position is stored and compared as. */
export function toBsonPosition(position: bigint): Long {
  if (typeof position !== 'bigint' || position < 0n || position > LONG_MAX) {
    throw new InvalidArgumentError(
      'position',
      `expected a bigint between 0n and 2^63-1, got ${String(position)}.`,
    );
  }
  return Long.fromBigInt(position);
}

interface ParsedDecimal {
  readonly sign: 1n | -1n;
  /** Significant digits without leading or trailing zeros ("" for zero). */
  readonly digits: string;
  readonly exponent: number;
}

const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

/** Splits a decimal string ("-1.250E+3", "1e-7") into sign, significant digits and exponent. */
export function parseDecimal(text: string): ParsedDecimal | undefined {
  const match = DECIMAL.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return undefined;
  const fraction = match[3] ?? '';
  let digits = `${match[2]}${fraction}`.replace(/^0+/, '');
  let exponent = Number(match[4] ?? 0) - fraction.length;
  const trailing = /0+$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  if (digits === '') exponent = 0;
  return { sign: match[1] === '-' && digits !== '' ? -1n : 1n, digits, exponent };
}

/**
 * Converts a Decimal128 without loss: to a number when the number prints back as the same decimal,
 * else to a bigint when it is an integer, else to its exact decimal string (e.g. "0.10000000000000000001").
 */
export function decimalToJs(value: { toString(): string }): number | bigint | string {
  const text = value.toString();
  const parsed = parseDecimal(text);
  if (!parsed) return text; // NaN, Infinity: no JSON number can hold them
  const asNumber = Number(text);
  const back = parseDecimal(String(asNumber));
  if (
    back &&
    Number.isFinite(asNumber) &&
    back.digits === parsed.digits &&
    back.exponent === parsed.exponent &&
    back.sign === parsed.sign
  ) {
    return asNumber === 0 ? 0 : asNumber;
  }
  const integer = integerOf(value);
  return integer ?? text;
}

/**
 * Converts a value read from MongoDB (with `promoteValues: false`) into plain JS data: Int32 and
 * Double become numbers, Long a number when it is safe and a bigint otherwise, Decimal128 as in
 * {@link decimalToJs}; ObjectId becomes its hex string, Date its ISO string, Binary base64, Symbol
 * and Code strings. Objects are rebuilt as plain objects (a `__proto__` key stays a key).
 * Throws `EventSerializationError` for MinKey and MaxKey, which have no JS counterpart.
 */
export function fromBson(value: unknown, path = '$'): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item, index) => fromBson(item, `${path}[${index}]`));
  if (value instanceof Date) return value.toISOString();
  const tag = bsonType(value);
  if (tag) return fromTagged(value as Tagged, tag, path);
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, fromBson(child, `${path}.${key}`)]),
  );
}

function fromTagged(value: Tagged, tag: string, path: string): unknown {
  switch (tag) {
    case 'Int32':
    case 'Double':
      return (value as unknown as { value: number }).value;
    case 'Long':
    case 'Timestamp': {
      const integer = (value as unknown as Long).toBigInt();
      return integer >= BigInt(Number.MIN_SAFE_INTEGER) && integer <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(integer)
        : integer;
    }
    case 'Decimal128':
      return decimalToJs(value);
    case 'ObjectId':
    case 'ObjectID':
      return (value as unknown as { toHexString(): string }).toHexString();
    case 'Binary':
      return Buffer.from((value as unknown as { buffer: Uint8Array }).buffer).toString('base64');
    case 'BSONSymbol':
    case 'Symbol':
      return String((value as unknown as { value: unknown }).value);
    case 'Code':
      return String((value as unknown as { code: unknown }).code);
    case 'BSONRegExp': {
      const regexp = value as unknown as { pattern: string; options: string };
      return `/${regexp.pattern}/${regexp.options}`;
    }
    case 'DBRef': {
      // The BSON parser turns any document starting with $ref and $id into a DBRef and keeps the
      // other keys in `fields`: rebuild all of them, in order, so nothing is lost.
      const ref = value as unknown as {
        collection: string;
        oid: unknown;
        db?: string;
        fields?: Record<string, unknown>;
      };
      const entries: [string, unknown][] = [
        ['$ref', ref.collection],
        ['$id', fromBson(ref.oid, `${path}.$id`)],
      ];
      if (ref.db) entries.push(['$db', ref.db]);
      for (const [key, child] of Object.entries(ref.fields ?? {})) {
        entries.push([key, fromBson(child, `${path}.${key}`)]);
      }
      return Object.fromEntries(entries);
    }
    default:
      throw new EventSerializationError(
        `Stored value at ${path} is a BSON ${tag}, which has no JSON counterpart.`,
      );
  }
}
