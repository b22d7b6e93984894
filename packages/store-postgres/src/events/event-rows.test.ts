import { EventRegistry, type StoredEvent, typed } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { type EventRow, eventDecoder } from './event-rows.js';

const parse = pg.types.getTypeParser as (oid: number, format: 'text') => (text: string) => unknown;

// A row as `pg` returns it with EVENT_ROW_TYPES: jsonb, text[] and timestamptz as the server's text
// (empty metadata and tags as NULL: EVENT_COLUMNS).
function textRow(overrides: Partial<Record<number, unknown>> = {}): EventRow {
  const row: unknown[] = [
    '0193a1b2-0000-7000-8000-000000000001',
    'account-1',
    3,
    '6553600007',
    'Deposited',
    1,
    '{"amount": 5, "note": "a \\"quoted\\" note"}',
    '{"causationId": "m-1", "correlationId": "c-1", "nested": {"n": [1, 2]}}',
    '2026-11-26 14:05:21.123456+00',
    '{a,"b c","d,e"}',
  ];
  for (const [at, value] of Object.entries(overrides)) row[Number(at)] = value;
  return row as unknown as EventRow;
}

// What the driver's own parsers made of the same row (the eager decoding of earlier versions).
function driverEvent(row: EventRow): StoredEvent {
  return {
    eventId: row[0],
    streamId: row[1] as string,
    version: row[2],
    position: BigInt(row[3] as string),
    type: row[4],
    schemaVersion: row[5],
    data: parse(3802, 'text')(row[6] as string),
    metadata: parse(3802, 'text')((row[7] as string | null) ?? '{}'),
    timestamp: parse(1184, 'text')(row[8] as string),
    tags: parse(1009, 'text')((row[9] as string | null) ?? '{}'),
  } as StoredEvent;
}

const KEYS = [
  'eventId',
  'streamId',
  'version',
  'position',
  'type',
  'schemaVersion',
  'data',
  'metadata',
  'timestamp',
  'tags',
];

describe('eventDecoder', () => {
  it('decodes every field of a server row as the driver does', () => {
    for (const row of [
      textRow(),
      textRow({ 7: '{}', 9: '{}' }),
      textRow({ 6: 'null', 8: '1999-12-31 23:59:59.5-09:30' }),
    ]) {
      const event = eventDecoder(undefined)(row);
      expect(event).toStrictEqual(driverEvent(row));
      expect(Object.keys(event)).toEqual(KEYS);
      expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
      expect(typeof event.position).toBe('bigint');
      expect(event.timestamp).toBeInstanceOf(Date);
    }
  });

  it('keeps the timestamp the driver keeps, to the millisecond, for every fraction', () => {
    const decode = eventDecoder(undefined);
    for (const text of [
      '2026-11-26 14:05:21+00',
      '2026-11-26 14:05:21.1+00',
      '2026-11-26 14:05:21.12+00',
      '2026-11-26 14:05:21.999999+00',
      '2026-11-26 14:05:21.000001+05:30',
      '2026-11-26 14:05:21.123456-03:00:00',
      'infinity',
    ]) {
      // Twice in a row: the second read of the same text comes from the parser's cache.
      for (let i = 0; i < 2; i++) {
        const event = decode(textRow({ 8: text }));
        expect(event.timestamp).toEqual(parse(1184, 'text')(text));
      }
    }
  });

  it('gives each event its own metadata, tags and timestamp, also when the text is the same', () => {
    const decode = eventDecoder(undefined);
    for (const overrides of [{}, { 7: null, 9: null }]) {
      const first = decode(textRow(overrides));
      const second = decode(textRow(overrides));
      expect(first.metadata).not.toBe(second.metadata);
      expect(first.tags).not.toBe(second.tags);
      expect(first.timestamp).not.toBe(second.timestamp);
      (first.metadata as Record<string, unknown>).added = true;
      (first.tags as string[]).push('added');
      first.timestamp.setTime(0);
      expect(second).toStrictEqual(driverEvent(textRow(overrides)));
      expect(decode(textRow(overrides))).toStrictEqual(driverEvent(textRow(overrides)));
    }
  });

  it('lets spread, JSON and structuredClone see every field', () => {
    const event = eventDecoder(undefined)(textRow());
    const expected = driverEvent(textRow());
    expect({ ...event }).toStrictEqual(expected);
    expect(structuredClone(event)).toStrictEqual(expected);
    const json = (value: unknown) =>
      JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(json(event)).toBe(json(expected));
    expect(Object.keys(JSON.parse(json(event)))).toEqual(KEYS);
  });

  it('fills the stream id of a one-stream read (sent as NULL) from the read', () => {
    const event = eventDecoder(undefined, 'account-1')(textRow({ 1: null }));
    expect(event).toStrictEqual(driverEvent(textRow()));
  });

  it('uses a jsonb parser the application set on pg.types, for data and metadata', () => {
    const original = parse(3802, 'text');
    pg.types.setTypeParser(3802, 'text', (text: string) => ({ wrapped: JSON.parse(text) }));
    try {
      const event = eventDecoder(undefined)(textRow());
      expect(event.data).toEqual({ wrapped: { amount: 5, note: 'a "quoted" note' } });
      expect(event.metadata).toEqual({ wrapped: JSON.parse(textRow()[7] as string) });
      expect(eventDecoder(undefined)(textRow({ 7: null })).metadata).toEqual({ wrapped: {} });
    } finally {
      pg.types.setTypeParser(3802, 'text', original);
    }
  });

  it('takes a PGlite row (decoded by the driver) as it is, empty metadata and tags as NULL', () => {
    const empty = driverEvent(textRow({ 7: null, 9: null }));
    const emptyRow = [...Object.values(empty)] as unknown[];
    emptyRow[3] = 6553600007n;
    emptyRow[7] = null;
    emptyRow[9] = null;
    expect(eventDecoder(undefined)(emptyRow as unknown as EventRow)).toStrictEqual(empty);
    const expected = driverEvent(textRow());
    const row = [
      expected.eventId,
      null,
      expected.version,
      6553600007,
      expected.type,
      expected.schemaVersion,
      expected.data,
      expected.metadata,
      expected.timestamp,
      expected.tags,
    ] as unknown as EventRow;
    expect(eventDecoder(undefined, 'account-1')(row)).toStrictEqual(expected);
  });

  it('upcasts and validates through the registry, keeping the fields in order', () => {
    const registry = new EventRegistry().register('Deposited', {
      ...typed<{ cents: number }>(),
      upcasters: [(v1) => ({ cents: (v1 as { amount: number }).amount * 100 })],
    });
    const event = eventDecoder(registry)(textRow());
    expect(event).toStrictEqual({ ...driverEvent(textRow()), data: { cents: 500 }, schemaVersion: 2 });
    expect(Object.keys(event)).toEqual(KEYS);
    expect(() => eventDecoder(registry)(textRow({ 4: 'Unknown' }))).toThrow(/Unknown/);
  });
});
