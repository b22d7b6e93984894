import { isEventSerializationError, isInvalidArgumentError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { Binary, BSON, Decimal128, Double, Int32, Long, ObjectId } from 'mongodb';
import {
  decimalToJs,
  fromBson,
  integerOf,
  parseDecimal,
  readPosition,
  readSafeInteger,
  toBsonInteger,
  toBsonPosition,
} from './bson-values.js';

// What the driver hands back for a query with promoteValues: false: a real BSON round trip.
function roundTrip(value: unknown): unknown {
  const bytes = BSON.serialize({ value });
  return BSON.deserialize(bytes, {
    promoteValues: false,
    promoteLongs: false,
    promoteBuffers: false,
    useBigInt64: false,
    bsonRegExp: true,
  }).value;
}

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('readSafeInteger (versions, schema versions)', () => {
  it.each([
    ['Int32', new Int32(7), 7],
    ['Double', new Double(7), 7],
    ['Long', Long.fromNumber(7), 7],
    ['Decimal128', Decimal128.fromString('7'), 7],
    ['Decimal128 with exponent', Decimal128.fromString('7.00E+2'), 700],
    ['Long at 2^53 - 1', Long.fromBigInt(2n ** 53n - 1n), Number.MAX_SAFE_INTEGER],
    ['plain number', 12, 12],
  ])('reads %s after a BSON round trip', (_, value, expected) => {
    expect(readSafeInteger(roundTrip(value), 'version')).toBe(expected);
  });

  it.each([
    ['a fraction', new Double(1.5)],
    ['a fractional Decimal128', Decimal128.fromString('1.5')],
    ['a Long past 2^53', Long.fromBigInt(2n ** 53n)],
    ['a negative Int32', new Int32(-1)],
    ['a string', '7'],
    ['null', null],
    ['NaN', Decimal128.fromString('NaN')],
  ])('refuses %s with EventSerializationError naming the field', (_, value) => {
    const error = thrown(() => readSafeInteger(roundTrip(value), 'version'));
    expect(isEventSerializationError(error)).toBe(true);
    expect((error as Error).message).toContain('"version"');
  });
});

describe('readPosition', () => {
  it('reads every integer width as an exact bigint, up to 2^63 - 1', () => {
    expect(readPosition(roundTrip(new Int32(5)))).toBe(5n);
    expect(readPosition(roundTrip(new Double(5)))).toBe(5n);
    expect(readPosition(roundTrip(Long.fromBigInt(2n ** 63n - 1n)))).toBe(2n ** 63n - 1n);
    expect(readPosition(roundTrip(Decimal128.fromString('9007199254740993')))).toBe(9007199254740993n);
  });

  it('refuses a negative or fractional position', () => {
    expect(isEventSerializationError(thrown(() => readPosition(roundTrip(Long.fromNumber(-3)))))).toBe(true);
    expect(isEventSerializationError(thrown(() => readPosition(roundTrip(new Double(2.5)))))).toBe(true);
  });
});

describe('writing integers', () => {
  it('stores versions as Int32 when they fit and Int64 beyond', () => {
    expect(roundTrip(toBsonInteger(2 ** 31 - 1))).toBeInstanceOf(Int32);
    const wide = roundTrip(toBsonInteger(2 ** 31));
    expect(wide).toBeInstanceOf(Long);
    expect((wide as Long).toBigInt()).toBe(2n ** 31n);
    expect(isInvalidArgumentError(thrown(() => toBsonInteger(1.5)))).toBe(true);
  });

  it('stores positions as Int64 and round-trips the largest one exactly', () => {
    const max = 2n ** 63n - 1n;
    expect(readPosition(roundTrip(toBsonPosition(max)))).toBe(max);
    expect(isInvalidArgumentError(thrown(() => toBsonPosition(2n ** 63n)))).toBe(true);
    expect(isInvalidArgumentError(thrown(() => toBsonPosition(-1n)))).toBe(true);
  });
});

describe('Decimal128 without loss', () => {
  it.each([
    ['0.1', 0.1],
    ['1.10', 1.1],
    ['-2.5E+3', -2500],
    ['12345', 12345],
    ['-0', 0],
  ])('%s becomes the number %p', (text, expected) => {
    expect(decimalToJs(roundTrip(Decimal128.fromString(text)) as Decimal128)).toBe(expected);
  });

  it('keeps an integer past 2^53 exact as a bigint', () => {
    expect(decimalToJs(Decimal128.fromString('9007199254740993'))).toBe(9007199254740993n);
  });

  it('keeps a decimal a double cannot hold as its exact string', () => {
    expect(decimalToJs(Decimal128.fromString('0.10000000000000000001'))).toBe('0.10000000000000000001');
    expect(decimalToJs(Decimal128.fromString('NaN'))).toBe('NaN');
  });

  it('parses decimal strings into sign, digits and exponent', () => {
    expect(parseDecimal('-001.2500E+3')).toEqual({ sign: -1n, digits: '125', exponent: 1 });
    expect(parseDecimal('1e-7')).toEqual({ sign: 1n, digits: '1', exponent: -7 });
    expect(parseDecimal('0.000')).toEqual({ sign: 1n, digits: '', exponent: 0 });
    expect(parseDecimal('abc')).toBeUndefined();
    expect(integerOf(Decimal128.fromString('1.5E+1'))).toBe(15n);
  });
});

describe('fromBson (event data and metadata)', () => {
  it('turns a document of mixed BSON numbers into plain JS values without loss', () => {
    const stored = roundTrip({
      int32: new Int32(-4),
      double: new Double(0.25),
      integralDouble: new Double(3),
      safeLong: Long.fromNumber(9_000_000_000),
      wideLong: Long.fromBigInt(2n ** 62n),
      decimal: Decimal128.fromString('19.99'),
      nested: [{ deep: new Int32(1) }, 'text', true, null],
    });
    expect(fromBson(stored)).toEqual({
      int32: -4,
      double: 0.25,
      integralDouble: 3,
      safeLong: 9_000_000_000,
      wideLong: 2n ** 62n,
      decimal: 19.99,
      nested: [{ deep: 1 }, 'text', true, null],
    });
  });

  it('gives what JSON data written by the store reads back as: the same value', () => {
    const data = { text: 'ünï 🦀', big: Number.MAX_SAFE_INTEGER, negative: -0.5, list: [1, 'two', {}] };
    expect(fromBson(roundTrip(data))).toEqual(data);
  });

  it('maps ObjectId, Date and Binary written by other tools to strings', () => {
    const id = new ObjectId();
    const at = new Date('2024-05-06T07:08:09.010Z');
    const stored = roundTrip({ id, at, bytes: new Binary(Buffer.from('hi')) });
    expect(fromBson(stored)).toEqual({ id: id.toHexString(), at: at.toISOString(), bytes: 'aGk=' });
  });

  it('keeps a "__proto__" key as a plain key instead of a prototype', () => {
    const stored = BSON.deserialize(BSON.serialize(JSON.parse('{"value":{"__proto__":{"polluted":1}}}')), {
      promoteValues: false,
    }).value;
    const result = fromBson(stored) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses MinKey with a path', () => {
    const error = thrown(() => fromBson(roundTrip({ a: [new BSON.MinKey()] })));
    expect(isEventSerializationError(error)).toBe(true);
    expect((error as Error).message).toContain('$.a[0]');
  });
});

describe('fromBson on documents written by other tools', () => {
  it('keeps every key of an object the BSON parser turned into a DBRef, at any depth', () => {
    const value = {
      reference: { $ref: 'users', $id: 7, note: 'kept' },
      nested: { list: [{ $ref: 'orders', $id: 'o-1', $db: 'shop', extra: { deep: true } }] },
    };
    const raw = roundTrip(value) as Record<string, unknown>;
    expect((raw.reference as { _bsontype?: string })._bsontype).toBe('DBRef');
    expect(fromBson(raw)).toEqual(value);
  });
});
