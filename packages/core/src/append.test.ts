import { describe, expect, it } from '@jest/globals';
import { prepareAppend } from './append.js';
import { EventSerializationError, InvalidArgumentError } from './errors.js';

describe('prepareAppend', () => {
  it('makes ids with newEventId only for events without one, and flags caller ids as a possible retry', () => {
    let made = 0;
    const newEventId = () => `00000000-0000-7000-8000-${String(++made).padStart(12, '0')}`;
    const chosen = '11111111-2222-4333-8444-555555555555';
    const prepared = prepareAppend(
      's',
      0,
      [
        { type: 'A', data: {} },
        { type: 'B', data: {}, eventId: chosen.toUpperCase() },
      ],
      undefined,
      { newEventId },
    );
    expect(prepared.events.map((event) => event.eventId)).toEqual([
      '00000000-0000-7000-8000-000000000001',
      chosen,
    ]);
    expect(prepared.mayBeRetry).toBe(true);
    expect(prepareAppend('s', 0, [{ type: 'A', data: {} }], undefined, { newEventId }).mayBeRetry).toBe(
      false,
    );
  });

  it('refuses a caller id twice in one batch, in any letter case', () => {
    const id = '11111111-2222-4333-8444-555555555555';
    expect(() =>
      prepareAppend('s', 0, [
        { type: 'A', data: {}, eventId: id },
        { type: 'B', data: {}, eventId: id.toUpperCase() },
      ]),
    ).toThrow(new InvalidArgumentError('events[1].eventId', `"${id}" appears twice in the batch.`));
  });

  it('names the exact path of a bad value, however deep, in data and metadata', () => {
    const cases: [unknown, RegExp][] = [
      [{ lines: [{ sku: 'a' }, { sku: 'b\u0000' }] }, /\$\.lines\[1\]\.sku contains a NUL character/],
      [{ a: { 'b\u0000c': 1 } }, /\$\.a key "b.c" contains a NUL character/],
      [{ a: [[1, '\ud800']] }, /\$\.a\[0\]\[1\] contains a lone UTF-16 surrogate/],
      [{ total: Number.NaN }, /\$\.total is NaN/],
      [{ at: new Date(0) }, /\$\.at is a Date, not a plain object/],
      [[1, 2n], /\$\[1\] is a bigint/],
    ];
    for (const [data, message] of cases) {
      expect(() => prepareAppend('s', 0, [{ type: 'T', data }])).toThrow(message);
    }
    const cyclic: Record<string, unknown> = { x: 1 };
    cyclic.self = { back: cyclic };
    expect(() => prepareAppend('s', 0, [{ type: 'T', data: cyclic }])).toThrow(
      /\$\.self\.back is a circular reference/,
    );
    expect(() => prepareAppend('s', 0, [{ type: 'T', data: {}, metadata: { user: 'a\u0000' } }])).toThrow(
      EventSerializationError,
    );
    expect(() => prepareAppend('s', 0, [{ type: 'T', data: {}, metadata: { user: 'a\u0000' } }])).toThrow(
      /the metadata of event "T": \$\.user contains a NUL character/,
    );
  });
});
