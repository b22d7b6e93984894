import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import { EventSerializationError, InvalidArgumentError } from './errors.js';
import { assertExpectedVersion, assertJsonSerializable, assertStreamId } from './validation.js';

describe('assertJsonSerializable', () => {
  it('accepts plain JSON, null-prototype objects and undefined properties', () => {
    const bare = Object.assign(Object.create(null), { a: 1 });
    expect(() =>
      assertJsonSerializable({ a: [1, 'x', null, true, { b: bare }], skipped: undefined }, 'data'),
    ).not.toThrow();
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
  });

  it('expected versions: integers >= 0 or the three markers', () => {
    for (const ok of [0, 7, 'any', 'no_stream', 'stream_exists'])
      expect(() => assertExpectedVersion(ok)).not.toThrow();
    for (const bad of [-1, 1.5, Number.NaN, '1', null, 2 ** 53]) {
      expect(() => assertExpectedVersion(bad)).toThrow(InvalidArgumentError);
    }
  });
});
