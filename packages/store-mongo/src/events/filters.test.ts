import { isInvalidArgumentError } from '@es/core';
import { matchesEventQuery, type PreparedEventQuery, prepareEventQuery } from '@es/core/adapter';
import { describe, expect, it } from '@jest/globals';
import { BSON, type Document, Int32, Long } from 'mongodb';
import {
  byTypeFilter,
  eventIdsAnywhereFilter,
  eventQueryFilter,
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

// Evaluates a filter on a document the way MongoDB does, for the operators eventQueryFilter uses
// (an array field matches `$eq` when one element equals it; `$all: []` matches nothing).
function evaluate(document: Document, filter: Document): boolean {
  return Object.entries(filter).every(([field, condition]) => {
    if (field === '$or') return (condition as Document[]).some((branch) => evaluate(document, branch));
    const value = document[field];
    return Object.entries(condition as Document).every(([operator, operand]) => {
      const values: unknown[] = Array.isArray(value) ? value : [value];
      switch (operator) {
        case '$eq':
          return values.includes(operand);
        case '$in':
          return (operand as unknown[]).some((candidate) => values.includes(candidate));
        case '$all':
          return (
            Array.isArray(operand) &&
            operand.length > 0 &&
            operand.every((tag) => Array.isArray(value) && value.includes(tag))
          );
        case '$gt':
          return Long.fromValue(value as Long).greaterThan(operand as Long);
        case '$lte':
          return Long.fromValue(value as Long).lessThanOrEqual(operand as Long);
        default:
          throw new Error(`the test's evaluator does not know ${operator}`);
      }
    });
  });
}

describe('eventQueryFilter: queries of dynamic consistency boundaries', () => {
  const query = (items: unknown[]): PreparedEventQuery => prepareEventQuery({ items });

  it('is one $or of position-bounded branches: types, all tags, and one branch per tag for the stream id', () => {
    const filter = eventQueryFilter(
      query([{ eventTypes: ['A', 'B'] }, { tags: ['t1'] }, { eventTypes: ['C'], tags: ['t1', 't2'] }]),
      5n,
      9n,
    );
    const position = { $gt: Long.fromNumber(5), $lte: Long.fromNumber(9) };
    expect(filter).toEqual({
      $or: [
        { type: { $in: ['A', 'B'] }, _id: position },
        { tags: { $all: ['t1'] }, _id: position },
        { streamId: { $eq: 't1' }, _id: position },
        { type: { $in: ['C'] }, tags: { $all: ['t1', 't2'] }, _id: position },
        { type: { $in: ['C'] }, streamId: { $eq: 't1' }, tags: { $all: ['t2'] }, _id: position },
        { type: { $in: ['C'] }, streamId: { $eq: 't2' }, tags: { $all: ['t1'] }, _id: position },
      ],
    });
    expect(eventQueryFilter(query([{ tags: ['t'] }]), 0n)).toEqual({
      $or: [
        { tags: { $all: ['t'] }, _id: { $gt: Long.fromNumber(0) } },
        { streamId: { $eq: 't' }, _id: { $gt: Long.fromNumber(0) } },
      ],
    });
  });

  it('selects exactly the events matchesEventQuery (the in-memory store) selects', () => {
    const tags = ['a', 'b', 'c', 's1', 's2'];
    const types = ['X', 'Y'];
    const documents: Document[] = [];
    let position = 0;
    // Every stream, type and subset of tags, and documents written before tags existed.
    for (const streamId of ['s1', 's2', 'a', 'other'])
      for (const type of types)
        for (let mask = 0; mask < 2 ** tags.length; mask++) {
          const chosen = tags.filter((_, bit) => mask & (1 << bit));
          documents.push({ _id: Long.fromNumber(++position), streamId, type, tags: chosen });
          if (mask === 0) documents.push({ _id: Long.fromNumber(++position), streamId, type });
        }
    const itemsOf: unknown[][] = [
      [{ tags: ['a'] }],
      [{ tags: ['s1'] }],
      [{ tags: ['a', 's1'] }],
      [{ tags: ['s1', 's2'] }],
      [{ tags: ['a', 'b', 'c'] }],
      [{ eventTypes: ['X'] }],
      [{ eventTypes: ['X'], tags: ['b', 'a'] }],
      [{ eventTypes: ['Y'], tags: ['s2'] }, { tags: ['c', 'other'] }],
      [{ eventTypes: ['X', 'Y'], tags: ['a'] }, { eventTypes: ['Y'] }],
    ];
    for (const items of itemsOf) {
      const prepared = query(items);
      const filter = eventQueryFilter(prepared, 3n, BigInt(position - 2));
      const selected = documents.filter((document) => evaluate(document, filter));
      const expected = documents.filter((document) => {
        const at = Number(document._id);
        return (
          at > 3 &&
          at <= position - 2 &&
          matchesEventQuery(
            { type: document.type, streamId: document.streamId, tags: document.tags ?? [] },
            prepared,
          )
        );
      });
      expect({ items, selected: selected.map((d) => Number(d._id)) }).toEqual({
        items,
        selected: expected.map((d) => Number(d._id)),
      });
      expect(expected.length).toBeGreaterThan(0);
    }
  });
});
