import { isInvalidArgumentError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { BSON, Int32, Long } from 'mongodb';
import {
  byTypeFilter,
  eventIdsAnywhereFilter,
  globalLogFilter,
  streamFilter,
  wholeStreamFilter,
} from './filters.js';

const hostile: unknown[] = [{ $gt: '' }, { $ne: null }, ['a'], 5, null, undefined, '', 'a\u0000b'];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('filters never let a value act as an operator', () => {
  it.each(hostile.map((value) => [JSON.stringify(value) ?? String(value), value]))(
    'a stream id of %s is refused with InvalidArgumentError',
    (_, value) => {
      expect(isInvalidArgumentError(thrown(() => streamFilter(value as string, 0)))).toBe(true);
      expect(isInvalidArgumentError(thrown(() => wholeStreamFilter(value as string)))).toBe(true);
      expect(isInvalidArgumentError(thrown(() => eventIdsAnywhereFilter([value as string])))).toBe(true);
    },
  );

  it.each(hostile.map((value) => [JSON.stringify(value) ?? String(value), value]))(
    'an event type of %s is refused',
    (_, value) => {
      expect(isInvalidArgumentError(thrown(() => byTypeFilter([value as string], new Date(0), 0n)))).toBe(
        true,
      );
      expect(isInvalidArgumentError(thrown(() => globalLogFilter(0n, undefined, [value as string])))).toBe(
        true,
      );
    },
  );

  it('compares ids with $eq, so operator-looking strings are plain values', () => {
    const filter = wholeStreamFilter('$where');
    expect(filter).toEqual({ streamId: { $eq: '$where' } });
    expect(streamFilter('{"$gt":""}', 2, 5)).toEqual({
      streamId: { $eq: '{"$gt":""}' },
      version: { $gt: new Int32(2), $lte: new Int32(5) },
    });
    expect(eventIdsAnywhereFilter(['a', 'b'])).toEqual({
      eventId: { $in: ['a', 'b'] },
      idSupplied: { $ne: false },
    });
  });

  it('encodes positions as Int64 so comparisons are exact past 2^53', () => {
    const filter = globalLogFilter(2n ** 60n + 1n, 2n ** 61n, new Set(['A', 'B'])) as Record<
      string,
      Record<string, unknown>
    >;
    expect(filter._id!.$gt).toEqual(Long.fromBigInt(2n ** 60n + 1n));
    expect(filter._id!.$lte).toEqual(Long.fromBigInt(2n ** 61n));
    expect(filter.type).toEqual({ $in: ['A', 'B'] });
    // What goes on the wire: an int64, not a double that would round 2^60 + 1.
    const wire = BSON.deserialize(BSON.serialize(filter), { useBigInt64: true }) as Record<
      string,
      Record<string, unknown>
    >;
    expect(wire._id!.$gt).toBe(2n ** 60n + 1n);
  });

  it('filters by type, timestamp and position together', () => {
    const since = new Date('2024-01-01T00:00:00Z');
    expect(byTypeFilter(['A'], since, 3n)).toEqual({
      type: { $in: ['A'] },
      _id: { $gt: Long.fromNumber(3) },
      timestamp: { $gte: since },
    });
  });

  it('refuses a negative position', () => {
    expect(isInvalidArgumentError(thrown(() => globalLogFilter(-1n)))).toBe(true);
  });
});
