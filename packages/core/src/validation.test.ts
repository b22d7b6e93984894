import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import { EventSerializationError, InvalidArgumentError } from './errors.js';
import {
  assertExpectedVersion,
  assertJsonSerializable,
  assertPosition,
  assertStreamId,
  MAX_JSON_DEPTH,
  MAX_POSITION,
} from './validation.js';

describe('assertJsonSerializable', () => {
  it('accepts plain JSON and null-prototype objects', () => {
    const bare = Object.assign(Object.create(null), { a: 1 });
    expect(() =>
      assertJsonSerializable({ a: [1, 'x', null, true, { b: bare }], z: 0 }, 'data'),
    ).not.toThrow();
  });

  it('refuses what JSON would drop or alter: undefined properties, -0, holes, symbol keys', () => {
    expect(() => assertJsonSerializable({ skipped: undefined }, 'data')).toThrow(
      /\$\.skipped is undefined, which JSON drops; leave the property out/,
    );
    expect(() => assertJsonSerializable({ n: -0 }, 'data')).toThrow(/\$\.n is -0/);
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(() => assertJsonSerializable({ list: [1, , 2] }, 'data')).toThrow(/\$\.list\[1\] is a hole/);
    expect(() => assertJsonSerializable({ [Symbol('s')]: 1 }, 'data')).toThrow(/symbol key/);
    expect(() => assertJsonSerializable(Object.assign([1], { x: 1 }), 'data')).toThrow(
      /besides its elements/,
    );
    expect(() => assertJsonSerializable(undefined, 'data')).toThrow(/\$ is undefined/);
  });

  it(`refuses nesting past MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) with the path, never a RangeError`, () => {
    const nest = (depth: number): unknown => {
      let value: unknown = [];
      for (let level = 1; level < depth; level++) value = [value];
      return value;
    };
    expect(() => assertJsonSerializable(nest(MAX_JSON_DEPTH), 'data')).not.toThrow();
    expect(() => assertJsonSerializable(nest(MAX_JSON_DEPTH + 1), 'data')).toThrow(
      new RegExp(`\\$(\\[0\\]){${MAX_JSON_DEPTH}} is nested ${MAX_JSON_DEPTH + 1} levels deep`),
    );
    expect(() => assertJsonSerializable(nest(1_000_000), 'data')).toThrow(EventSerializationError);
  });

  it('names the path of the offending value', () => {
    expect(() => assertJsonSerializable({ items: [{ at: new Date() }] }, 'data', 'Shipped')).toThrow(
      /\$\.items\[0\]\.at is a Date.*"Shipped"|"Shipped".*\$\.items\[0\]\.at is a Date/,
    );
    expect(() => assertJsonSerializable({ list: [undefined] }, 'data')).toThrow(EventSerializationError);
  });

  it('accepts plain objects from another realm (vm, jest), still refusing class instances there', () => {
    expect(() => assertJsonSerializable(runInNewContext('({ a: { b: [1] } })'), 'data')).not.toThrow();
    expect(() => assertJsonSerializable(runInNewContext('({ at: new Date() })'), 'data')).toThrow(/Date/);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(() => assertJsonSerializable({ a: shared, b: shared }, 'data')).not.toThrow();
  });
});

describe('identifier and version checks', () => {
  it('stream ids: non-empty strings up to 512 characters without NUL', () => {
    expect(() => assertStreamId('x'.repeat(512))).not.toThrow();
    expect(() => assertStreamId('x'.repeat(513))).toThrow(InvalidArgumentError);
    expect(() => assertStreamId(['a'])).toThrow(/expected a string, got an array/);
    expect(() => assertStreamId(' \t\n')).toThrow(/must not be only whitespace/);
    expect(() => assertStreamId(' a ')).not.toThrow();
  });

  it('positions: bigints from 0n to 2^63 - 1', () => {
    expect(() => assertPosition(MAX_POSITION)).not.toThrow();
    expect(() => assertPosition(MAX_POSITION + 1n, 'fromPosition')).toThrow(
      /Invalid fromPosition: .*2\^63 - 1/,
    );
  });

  it('expected versions: integers >= 0 or the three markers', () => {
    for (const ok of [0, 7, 'any', 'no_stream', 'stream_exists'])
      expect(() => assertExpectedVersion(ok)).not.toThrow();
    for (const bad of [-1, 1.5, Number.NaN, '1', null, 2 ** 53]) {
      expect(() => assertExpectedVersion(bad)).toThrow(InvalidArgumentError);
    }
  });
});
