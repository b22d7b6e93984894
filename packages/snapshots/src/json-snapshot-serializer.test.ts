import { isEventSerializationError, isInvalidArgumentError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { JsonSnapshotSerializer } from './json-snapshot-serializer.js';
import type { SnapshotTypeCodec } from './snapshot-type-codec.js';

const serializer = new JsonSnapshotSerializer();

/** Serializes, goes through JSON text as a database would, and deserializes. */
const roundTrip = (value: unknown, using = serializer) =>
  using.deserialize(JSON.parse(JSON.stringify(using.serialize(value))));

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

class Money {
  constructor(
    readonly cents: bigint,
    readonly currency: string,
  ) {}
}

const moneyCodec: SnapshotTypeCodec<Money> = {
  tag: 'Money',
  matches: (value): value is Money => value instanceof Money,
  encode: (money) => ({ cents: money.cents, currency: money.currency }),
  decode: (payload) => {
    const { cents, currency } = payload as { cents: bigint; currency: string };
    return new Money(cents, currency);
  },
};

describe('JsonSnapshotSerializer', () => {
  it('round-trips the types aggregates hold: Date, bigint, Map, Set, nested in each other', () => {
    const state = {
      openedAt: new Date('2026-01-02T03:04:05.678Z'),
      balance: 12_345_678_901_234_567_890n,
      negative: -5n,
      stock: new Map<string, { quantity: number; reserved: Set<string>; since: Date }>([
        ['sku-1', { quantity: 3, reserved: new Set(['o-1', 'o-2']), since: new Date(0) }],
        ['sku-2', { quantity: 0, reserved: new Set(), since: new Date(86_400_000) }],
      ]),
      byNumber: new Map<unknown, unknown>([
        [1, 'one'],
        [2n, new Map([[new Date(5), [1, 2]]])],
      ]),
      tags: new Set([1, 'a', null, 7n]),
      nested: { list: [{ at: new Date(1) }, [new Set([new Map()])]] },
      plain: { a: 1, b: 'two', c: null, d: [true, false] },
    };
    const back = roundTrip(state) as typeof state;
    expect(back).toEqual(state);
    expect(back.openedAt).toBeInstanceOf(Date);
    expect(back.stock.get('sku-1')?.reserved).toBeInstanceOf(Set);
    expect(typeof back.balance).toBe('bigint');
    expect([...back.stock.keys()]).toEqual(['sku-1', 'sku-2']); // insertion order kept
  });

  it('keeps numbers JSON cannot hold, undefined values and keys, and invalid dates', () => {
    const state = {
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      ninf: Number.NEGATIVE_INFINITY,
      negativeZero: -0,
      missing: undefined,
      list: [undefined, 1],
      invalid: new Date(Number.NaN),
    };
    const back = roundTrip(state) as typeof state;
    expect(Object.is(back.negativeZero, -0)).toBe(true);
    expect(back.nan).toBeNaN();
    expect(back.inf).toBe(Number.POSITIVE_INFINITY);
    expect(back.ninf).toBe(Number.NEGATIVE_INFINITY);
    expect('missing' in back).toBe(true);
    expect(back.list).toEqual([undefined, 1]);
    expect(back.invalid).toBeInstanceOf(Date);
    expect(back.invalid.getTime()).toBeNaN();
  });

  it('writes plain JSON as itself and other types as documented tags', () => {
    expect(serializer.serialize({ a: [1, 'x', null, true] })).toEqual({ a: [1, 'x', null, true] });
    expect(
      serializer.serialize({
        at: new Date('2026-01-01T00:00:00.000Z'),
        n: 10n,
        m: new Map([['k', 1]]),
        s: new Set([2]),
        u: undefined,
        x: Number.NaN,
      }),
    ).toEqual({
      at: { $es: 'Date', v: '2026-01-01T00:00:00.000Z' },
      n: { $es: 'bigint', v: '10' },
      m: { $es: 'Map', v: [['k', 1]] },
      s: { $es: 'Set', v: [2] },
      u: { $es: 'undefined' },
      x: { $es: 'number', v: 'NaN' },
    });
  });

  it('never mistakes user data that looks like a tag for a tag', () => {
    const state = { $es: 'Date', v: '2026-01-01T00:00:00.000Z', inner: { $es: 'Map', v: [] } };
    const encoded = serializer.serialize(state) as { $es: string };
    expect(encoded.$es).toBe('Object');
    const back = roundTrip(state);
    expect(back).toEqual(state);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('keeps a "__proto__" key as data and never changes a prototype', () => {
    const state = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
    const back = roundTrip(state) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect(back.ok).toBe(1);
  });

  it('shares nothing with the input: later changes to the state do not alter the output', () => {
    const state = { items: [{ quantity: 1 }], at: new Date(0) };
    const encoded = serializer.serialize(state);
    state.items[0]!.quantity = 2;
    state.at.setTime(99);
    expect(serializer.deserialize(encoded)).toEqual({ items: [{ quantity: 1 }], at: new Date(0) });
  });

  it('refuses what it cannot restore, naming the path', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cases: [unknown, RegExp][] = [
      [
        { accounts: new Map([['a1', { handler: () => 1 }]]) },
        /\$\.accounts\.get\("a1"\)\.handler is a function/,
      ],
      [{ owner: new Money(1n, 'EUR') }, /\$\.owner is a Money; register a SnapshotTypeCodec/],
      [cyclic, /\$\.self is a circular reference/],
      [{ s: Symbol('x') }, /\$\.s is a symbol/],
      [{ [Symbol('k')]: 1 }, /has symbol keys/],
    ];
    for (const [state, message] of cases) {
      const error = thrownBy(() => serializer.serialize(state));
      expect(isEventSerializationError(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('encodes a value referenced twice as two equal copies (not a cycle)', () => {
    const shared = { quantity: 1 };
    const back = roundTrip({ a: shared, b: shared }) as { a: object; b: object };
    expect(back.a).toEqual(back.b);
    expect(back.a).not.toBe(back.b);
  });

  it('refuses an unknown tag or a malformed payload when reading', () => {
    for (const stored of [
      { $es: 'Money', v: { cents: '1' } },
      { $es: 'bigint', v: 'twelve' },
      { $es: 'Map', v: 'not entries' },
      { $es: 'Date', v: 5 },
      { $es: 'number', v: '12' },
    ]) {
      expect(isEventSerializationError(thrownBy(() => serializer.deserialize(stored)))).toBe(true);
    }
  });

  it('round-trips custom types through a codec, with tagged values inside their payload', () => {
    const withMoney = new JsonSnapshotSerializer({ types: [moneyCodec] });
    const state = { prices: new Map([['sku-1', new Money(1999n, 'EUR')]]), total: new Money(-5n, 'USD') };
    const back = roundTrip(state, withMoney) as typeof state;
    expect(back.total).toBeInstanceOf(Money);
    expect(back).toEqual(state);
    expect(withMoney.serialize({ m: new Money(1n, 'EUR') })).toEqual({
      m: { $es: 'Money', v: { cents: { $es: 'bigint', v: '1' }, currency: 'EUR' } },
    });
  });

  it('wraps a failing codec in an EventSerializationError with the cause', () => {
    const broken = new JsonSnapshotSerializer({
      types: [
        {
          ...moneyCodec,
          encode: () => {
            throw new Error('boom');
          },
        },
      ],
    });
    const error = thrownBy(() => broken.serialize({ m: new Money(1n, 'EUR') }));
    expect(isEventSerializationError(error)).toBe(true);
    expect((error as Error).cause).toEqual(new Error('boom'));
  });

  it('refuses a codec with a built-in or duplicate tag or without its functions', () => {
    const bad: SnapshotTypeCodec[] = [
      { ...moneyCodec, tag: 'Date' } as SnapshotTypeCodec,
      { ...moneyCodec, tag: '' } as SnapshotTypeCodec,
      { ...moneyCodec, decode: undefined } as unknown as SnapshotTypeCodec,
    ];
    for (const codec of bad) {
      expect(isInvalidArgumentError(thrownBy(() => new JsonSnapshotSerializer({ types: [codec] })))).toBe(
        true,
      );
    }
    const duplicate = () =>
      new JsonSnapshotSerializer({ types: [moneyCodec, moneyCodec] as SnapshotTypeCodec[] });
    expect(isInvalidArgumentError(thrownBy(duplicate))).toBe(true);
  });
});
