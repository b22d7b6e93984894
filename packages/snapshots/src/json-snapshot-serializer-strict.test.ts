import { runInNewContext } from 'node:vm';
import { isEventSerializationError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { JsonSnapshotSerializer } from './json-snapshot-serializer.js';
import {
  isSnapshotSerializationError,
  type SnapshotSerializationError,
} from './snapshot-serialization-error.js';
import type { SnapshotTypeCodec } from './snapshot-type-codec.js';

// What the serializer refuses rather than silently changing: subclasses of the built-in types it
// knows (they would come back as the base type, without their methods), malformed stored data, and
// codecs that never terminate.

const serializer = new JsonSnapshotSerializer();

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectRefused(run: () => unknown, path: string, message: RegExp): SnapshotSerializationError {
  const error = thrownBy(run);
  expect(isEventSerializationError(error)).toBe(true);
  expect(isSnapshotSerializationError(error)).toBe(true);
  const refused = error as SnapshotSerializationError;
  expect({ path: refused.path, message: refused.message }).toEqual({
    path,
    message: expect.stringMatching(message),
  });
  return refused;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

class Inventory extends Map<string, number> {
  total(): number {
    return [...this.values()].reduce((sum, quantity) => sum + quantity, 0);
  }
}
class Tags extends Set<string> {}
class Stack extends Array<number> {}
class BusinessDay extends Date {}

const inventoryCodec: SnapshotTypeCodec<Inventory> = {
  tag: 'Inventory',
  matches: (value): value is Inventory => value instanceof Inventory,
  encode: (inventory) => [...inventory],
  decode: (payload) => new Inventory(payload as [string, number][]),
};

describe('JsonSnapshotSerializer: subclasses of built-in types', () => {
  it('refuses a subclass of Map, Set, Array or Date without a codec, naming the field path', () => {
    const cases: [unknown, string, string][] = [
      [{ stock: new Inventory([['a', 1]]) }, '$.stock', 'Inventory'],
      [{ deep: [{ tags: new Tags(['x']) }] }, '$.deep[0].tags', 'Tags'],
      [{ stack: Stack.from([1, 2]) }, '$.stack', 'Stack'],
      [{ at: new BusinessDay(0) }, '$.at', 'BusinessDay'],
      [{ m: new Map([['k', new Inventory()]]) }, '$.m.get("k")', 'Inventory'],
    ];
    for (const [state, path, name] of cases) {
      expectRefused(
        () => serializer.serialize(state),
        path,
        new RegExp(`${escapeRegExp(path)} is a ${name}, a subclass of \\w+: register a SnapshotTypeCodec`),
      );
    }
  });

  it('round-trips a subclass through its codec, methods included', () => {
    const withCodec = new JsonSnapshotSerializer({ types: [inventoryCodec] });
    const state = {
      stock: new Inventory([
        ['a', 2],
        ['b', 3],
      ]),
    };
    const back = withCodec.deserialize(
      JSON.parse(JSON.stringify(withCodec.serialize(state))),
    ) as typeof state;
    expect(back.stock).toBeInstanceOf(Inventory);
    expect(back.stock.total()).toBe(5);
  });

  it('accepts the exact built-ins of another realm (vm context, iframe, jest sandbox)', () => {
    const foreign = runInNewContext(
      '({ m: new Map([["k", 1]]), s: new Set([1]), a: [1, 2], d: new Date(0), o: { x: 1 } })',
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(foreign.m)).not.toBe(Map.prototype);
    const back = serializer.deserialize(JSON.parse(JSON.stringify(serializer.serialize(foreign))));
    expect(back).toEqual({ m: new Map([['k', 1]]), s: new Set([1]), a: [1, 2], d: new Date(0), o: { x: 1 } });
  });

  it('refuses a subclass created in another realm too', () => {
    const foreign = runInNewContext('class Inventory extends Map {}; ({ stock: new Inventory() })');
    expectRefused(() => serializer.serialize(foreign), '$.stock', /Inventory, a subclass of Map/);
  });

  it('refuses a Map whose prototype was swapped for a look-alike', () => {
    const fake = new Map([['k', 1]]);
    Object.setPrototypeOf(fake, { constructor: { name: 'Map' } });
    expectRefused(() => serializer.serialize({ fake }), '$.fake', /\$\.fake is a/);
  });
});

describe('JsonSnapshotSerializer: strict decoding', () => {
  it('refuses malformed stored values with an error naming the path', () => {
    const cases: [unknown, string, RegExp][] = [
      [
        { m: { $es: 'Map', v: [[1]] } },
        '$.m[0]',
        /"Map" value at \$\.m\[0\] should hold a \[key, value\] pair/,
      ],
      [{ m: { $es: 'Map', v: [[1, 2, 3]] } }, '$.m[0]', /\[key, value\] pair/],
      [
        {
          m: {
            $es: 'Map',
            v: [
              ['k', 1],
              ['k', 2],
            ],
          },
        },
        '$.m[1]',
        /duplicate key/,
      ],
      [{ s: { $es: 'Set', v: [1, 1] } }, '$.s[1]', /duplicate item/],
      [{ d: { $es: 'Date', v: 'garbage' } }, '$.d', /ISO 8601/],
      [{ d: { $es: 'Date', v: '2026-02-30T00:00:00.000Z' } }, '$.d', /ISO 8601/],
      [{ d: { $es: 'Date', v: '2026-01-02' } }, '$.d', /ISO 8601/],
      [{ n: { $es: 'bigint', v: '' } }, '$.n', /decimal integer/],
      [{ n: { $es: 'bigint', v: '0x1f' } }, '$.n', /decimal integer/],
      [{ n: { $es: 'bigint', v: ' 12 ' } }, '$.n', /decimal integer/],
      [{ n: { $es: 'bigint', v: '007' } }, '$.n', /decimal integer/],
      [{ n: { $es: 'bigint', v: '-0' } }, '$.n', /decimal integer/],
      [{ u: { $es: 'undefined', v: 1 } }, '$.u', /no payload/],
      [{ x: { $es: 'Date' } }, '$.x', /a payload/],
      [{ x: { $es: 'Set', v: [], extra: 1 } }, '$.x', /unexpected key "extra"/],
      [{ list: [{ $es: 7, v: 1 }] }, '$.list[0]', /unknown tag 7/],
    ];
    for (const [stored, path, message] of cases) {
      const error = expectRefused(() => serializer.deserialize(stored), path, message);
      expect(error.operation).toBe('deserialize');
    }
  });

  it('still reads every value it writes, including edge cases of the strict checks', () => {
    const state = {
      big: [0n, -1n, 12_345_678_901_234_567_890n],
      dates: [new Date(0), new Date(-62_198_755_200_000), new Date(8.64e15)],
      map: new Map<unknown, unknown>([
        [Number.NaN, 1],
        [{ a: 1 }, 2],
        [{ a: 1 }, 3],
        [undefined, 4],
      ]),
      set: new Set<unknown>([{}, {}, [], Number.NaN, 0]),
      nothing: undefined,
    };
    const back = serializer.deserialize(JSON.parse(JSON.stringify(serializer.serialize(state))));
    expect(back).toEqual(state);
    const invalid = serializer.deserialize(serializer.serialize(new Date(Number.NaN)));
    expect(invalid).toBeInstanceOf(Date); // jest's toEqual never equates two invalid dates
    expect((invalid as Date).getTime()).toBeNaN();
  });

  it('wraps a failing codec decode, and refuses a decode that returns what its codec does not match', () => {
    const money = (decode: (payload: unknown) => unknown): SnapshotTypeCodec =>
      ({
        tag: 'Money',
        matches: (value): value is Inventory => value instanceof Inventory,
        encode: (value: unknown) => [...(value as Inventory)],
        decode,
      }) as SnapshotTypeCodec;
    const failing = new JsonSnapshotSerializer({
      types: [
        money(() => {
          throw new Error('bad payload');
        }),
      ],
    });
    const error = expectRefused(
      () => failing.deserialize({ a: [{ $es: 'Money', v: [] }] }),
      '$.a[0]',
      /the "Money" codec failed to decode \$\.a\[0\]/,
    );
    expect(error.cause).toEqual(new Error('bad payload'));
    const lying = new JsonSnapshotSerializer({ types: [money(() => ({ not: 'an inventory' }))] });
    expectRefused(
      () => lying.deserialize({ a: { $es: 'Money', v: [] } }),
      '$.a',
      /"Money" codec's decode returned a value its matches\(\) refuses/,
    );
  });
});

describe('JsonSnapshotSerializer: codecs that never terminate', () => {
  it('refuses an encode that returns another instance of its own type (instead of a RangeError)', () => {
    const looping: SnapshotTypeCodec<Inventory> = { ...inventoryCodec, encode: (i) => new Inventory(i) };
    const withLoop = new JsonSnapshotSerializer({ types: [looping] });
    expectRefused(
      () => withLoop.serialize({ stock: new Inventory() }),
      '$.stock',
      /the "Inventory" codec's encode returned a value that codec matches again/,
    );
  });

  it('refuses codecs that keep producing values to encode, however indirectly', () => {
    const nesting: SnapshotTypeCodec<Inventory> = {
      ...inventoryCodec,
      encode: (i) => ({ again: new Inventory(i) }),
    };
    const withLoop = new JsonSnapshotSerializer({ types: [nesting] });
    const error = expectRefused(
      () => withLoop.serialize({ stock: new Inventory() }),
      expect.stringMatching(/^\$\.stock<Inventory>\.again/) as unknown as string,
      /codec values nested more than 100 deep/,
    );
    expect(error.path.length).toBeGreaterThan(100);
  });
});
