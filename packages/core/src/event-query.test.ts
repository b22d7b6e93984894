import { describe, expect, it } from '@jest/globals';
import { prepareAppend, prepareConditionalAppend } from './append.js';
import { decodeStoredEvent } from './decode.js';
import {
  AppendConditionFailedError,
  isAppendConditionFailedError,
  isInvalidArgumentError,
} from './errors.js';
import { EventQuery, matchesEventQuery, prepareAppendCondition, prepareEventQuery } from './event-query.js';
import type { StoredEvent } from './events.js';

const refusal = (call: () => unknown): string => {
  try {
    call();
  } catch (error) {
    expect(isInvalidArgumentError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidArgumentError');
};

describe('EventQuery builders', () => {
  it('build items', () => {
    expect(EventQuery.tags('a', 'b')).toEqual({ items: [{ tags: ['a', 'b'] }] });
    expect(EventQuery.eventTypes('A', 'B')).toEqual({ items: [{ eventTypes: ['A', 'B'] }] });
    expect(EventQuery.of({ tags: ['a'] }, { eventTypes: ['A'] })).toEqual({
      items: [{ tags: ['a'] }, { eventTypes: ['A'] }],
    });
    expect(EventQuery.or(EventQuery.tags('a'), EventQuery.eventTypes('A'))).toEqual({
      items: [{ tags: ['a'] }, { eventTypes: ['A'] }],
    });
  });
});

describe('prepareEventQuery', () => {
  it('copies a valid query', () => {
    const tags = ['a'];
    const prepared = prepareEventQuery({ items: [{ tags }, { eventTypes: ['A'], tags: ['b'] }] });
    tags.push('changed');
    expect(prepared).toEqual({
      items: [
        { eventTypes: undefined, tags: ['a'] },
        { eventTypes: ['A'], tags: ['b'] },
      ],
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', 'tags', /query: expected an object/],
    ['no items', { items: [] }, /query\.items: is empty/],
    ['items not an array', { items: {} }, /query\.items: expected an array/],
    ['an item with neither', { items: [{}] }, /query\.items\[0\]: names neither/],
    ['an unknown field', { items: [{ types: ['A'] }] }, /query\.items\[0\]\.types: is not a field/],
    ['empty types', { items: [{ eventTypes: [] }] }, /eventTypes: expected a non-empty array/],
    ['empty tags', { items: [{ tags: [] }] }, /tags: is empty/],
    ['a duplicate tag', { items: [{ tags: ['a', 'a'] }] }, /tags\[1\]: tag "a" appears twice/],
    ['a blank tag', { items: [{ tags: [' '] }] }, /tags\[0\]: must not be only whitespace/],
    ['too many items', { items: Array.from({ length: 65 }, () => ({ tags: ['a'] })) }, /at most 64/],
  ])('refuses %s', (_, query, message) => {
    expect(refusal(() => prepareEventQuery(query))).toMatch(message);
  });
});

describe('matchesEventQuery', () => {
  const event = { type: 'A', streamId: 'account-1', tags: ['t1', 't2'] };
  it.each<[string, EventQuery, boolean]>([
    ['its type', EventQuery.eventTypes('B', 'A'), true],
    ['another type', EventQuery.eventTypes('B'), false],
    ['all of the tags', EventQuery.tags('t2', 't1'), true],
    ['a tag it lacks', EventQuery.tags('t1', 't3'), false],
    ['its stream id as a tag', EventQuery.tags('account-1', 't1'), true],
    ['type and tags', EventQuery.of({ eventTypes: ['A'], tags: ['t1'] }), true],
    ['the tags but another type', EventQuery.of({ eventTypes: ['B'], tags: ['t1'] }), false],
    ['any item', EventQuery.of({ eventTypes: ['B'] }, { tags: ['t2'] }), true],
  ])('matches %s: %s', (_, query, expected) => {
    expect(matchesEventQuery(event, prepareEventQuery(query))).toBe(expected);
  });
});

describe('tags on append', () => {
  it('are kept as given, and an event without them gets []', () => {
    const append = prepareAppend(
      's',
      'any',
      [
        { type: 'A', data: {}, tags: ['b', 'a'] },
        { type: 'B', data: {} },
      ],
      undefined,
      { acceptTags: true },
    );
    expect(append.events.map((e) => e.tags)).toEqual([['b', 'a'], []]);
  });

  it('are refused by a store that does not store them', () => {
    expect(refusal(() => prepareAppend('s', 'any', [{ type: 'A', data: {}, tags: ['a'] }]))).toMatch(
      /events\[0\]\.tags: this store does not store tags/,
    );
  });

  it.each<[string, unknown, RegExp]>([
    ['not an array', 'a', /events\[0\]\.tags: expected an array/],
    ['a duplicate', ['a', 'a'], /tags\[1\]: tag "a" appears twice/],
    ['a non-string', [1], /tags\[0\]: expected a string/],
    ['a NUL', ['a\u0000'], /NUL/],
    ['too long', ['x'.repeat(513)], /at most 512/],
    ['too many', Array.from({ length: 65 }, (_, i) => `t${i}`), /at most 64/],
  ])('refuse %s', (_, tags, message) => {
    const events = [{ type: 'A', data: {}, tags }];
    expect(refusal(() => prepareAppend('s', 'any', events, undefined, { acceptTags: true }))).toMatch(
      message,
    );
  });
});

describe('prepareConditionalAppend', () => {
  it('names a streamless batch after its first event and expects a new stream', () => {
    const eventId = '0190a2b4-0000-7000-8000-000000000001';
    const append = prepareConditionalAppend([{ type: 'A', data: {}, eventId, tags: ['a'] }], undefined);
    expect(append).toMatchObject({
      streamId: `$dcb-${eventId}`,
      expectedVersion: 'no_stream',
      condition: undefined,
    });
  });

  it('uses a named stream with its expected version (default any) and resolves the condition', () => {
    const append = prepareConditionalAppend([{ type: 'A', data: {} }], {
      streamId: 's',
      condition: { failIfEventsMatch: EventQuery.tags('a') },
    });
    expect(append).toMatchObject({ streamId: 's', expectedVersion: 'any' });
    expect(append.condition?.afterPosition).toBe(0n);
  });

  it.each<[string, unknown, RegExp]>([
    ['options not an object', 'x', /options: expected an object/],
    ['an unknown option', { stream: 's' }, /options\.stream: is not an append option/],
    ['an expected version without a stream', { expectedVersion: 0 }, /without streamId/],
    ['a condition without a query', { condition: {} }, /condition\.failIfEventsMatch: expected an object/],
    [
      'a negative position',
      { condition: { failIfEventsMatch: EventQuery.tags('a'), afterPosition: -1n } },
      /afterPosition/,
    ],
    [
      'a number position',
      { condition: { failIfEventsMatch: EventQuery.tags('a'), afterPosition: 1 } },
      /bigint/,
    ],
    [
      'an unknown condition field',
      { condition: { failIfEventsMatch: EventQuery.tags('a'), after: 1n } },
      /condition\.after:/,
    ],
  ])('refuses %s', (_, options, message) => {
    expect(refusal(() => prepareConditionalAppend([{ type: 'A', data: {} }], options))).toMatch(message);
  });

  it('keeps the caller condition for the error', () => {
    const condition = { failIfEventsMatch: EventQuery.tags('a'), afterPosition: 3n };
    expect(prepareAppendCondition(condition).condition).toEqual(condition);
  });
});

describe('AppendConditionFailedError', () => {
  it('says what failed and what to do, with a stable code', () => {
    const error = new AppendConditionFailedError(
      { failIfEventsMatch: EventQuery.tags('a'), afterPosition: 3n },
      5n,
    );
    expect(isAppendConditionFailedError(error)).toBe(true);
    expect(error.code).toBe('ES_APPEND_CONDITION_FAILED');
    expect(error.message).toBe(
      "Append condition failed: an event matching the condition's query was appended after position 3 (at position 5). " +
        'Nothing was written; read the query again, decide again and retry.',
    );
    expect(new AppendConditionFailedError({ failIfEventsMatch: EventQuery.tags('a') }).message).toContain(
      "the condition's query was appended. Nothing",
    );
  });
});

describe('decodeStoredEvent', () => {
  it('gives an event read without tags an empty list', () => {
    const stored = {
      type: 'A',
      data: {},
      eventId: 'e',
      streamId: 's',
      version: 1,
      position: 1n,
      schemaVersion: 1,
      metadata: {},
      timestamp: new Date(0),
    } as StoredEvent;
    expect(decodeStoredEvent(stored, undefined).tags).toEqual([]);
    const tagged = { ...stored, tags: ['a'] } as StoredEvent;
    expect(decodeStoredEvent(tagged, undefined)).toBe(tagged);
  });
});
