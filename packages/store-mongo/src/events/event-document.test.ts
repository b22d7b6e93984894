import { isEventSerializationError } from '@es/core';
import { prepareAppend } from '@es/core/adapter';
import { describe, expect, it } from '@jest/globals';
import { BSON, Decimal128, Double, Int32, Long } from 'mongodb';
import {
  assertEventsFit,
  encodeEvents,
  fromEventDocument,
  MAX_DOCUMENT_BYTES,
  RAW_READ,
  toEventDocuments,
} from './event-document.js';

const stored = (document: object) => BSON.deserialize(BSON.serialize(document), RAW_READ);

describe('event documents', () => {
  const timestamp = new Date('2025-01-02T03:04:05.678Z');
  const append = prepareAppend(
    'order-1',
    'any',
    [
      {
        type: 'Placed',
        data: { items: [{ sku: 'A', qty: 2 }], note: "O'Brien" },
        metadata: { correlationId: 'c' },
        tags: ['customer:c7', 'Mixed Case'],
      },
      { type: 'Paid', data: { amount: 19.99 } },
    ],
    undefined,
    { acceptTags: true },
  );

  it('gives each event consecutive versions and Int64 positions, and reads them back unchanged', () => {
    const documents = toEventDocuments(append.events, {
      streamId: 'order-1',
      versionBefore: 4,
      firstPosition: 41n,
      timestamp,
      idSupplied: false,
    });
    expect(documents.map((d) => d.idSupplied)).toEqual([false, false]);
    expect(documents.map((d) => d._id)).toEqual([Long.fromNumber(41), Long.fromNumber(42)]);
    // Stored exactly as given, an untagged event as an empty list.
    expect(documents.map((d) => d.tags)).toEqual([['customer:c7', 'Mixed Case'], []]);
    const events = documents.map((document) => fromEventDocument(stored(document)));
    expect(events).toEqual([
      {
        eventId: append.events[0]!.eventId,
        streamId: 'order-1',
        version: 5,
        position: 41n,
        type: 'Placed',
        schemaVersion: 1,
        data: { items: [{ sku: 'A', qty: 2 }], note: "O'Brien" },
        metadata: { correlationId: 'c' },
        timestamp,
        tags: ['customer:c7', 'Mixed Case'],
      },
      {
        eventId: append.events[1]!.eventId,
        streamId: 'order-1',
        version: 6,
        position: 42n,
        type: 'Paid',
        schemaVersion: 1,
        data: { amount: 19.99 },
        metadata: {},
        timestamp,
        tags: [],
      },
    ]);
  });

  it('reads documents written by other tools with any number widths', () => {
    const event = fromEventDocument(
      stored({
        _id: new Double(7),
        streamId: 's',
        version: Long.fromNumber(3),
        eventId: 'e',
        type: 'T',
        schemaVersion: Decimal128.fromString('2'),
        data: { count: Long.fromNumber(5), price: Decimal128.fromString('1.50'), ratio: new Int32(1) },
        timestamp,
      }),
    );
    // Written before tags existed: untagged.
    expect(event).toMatchObject({ position: 7n, version: 3, schemaVersion: 2, metadata: {}, tags: [] });
    expect(event.data).toEqual({ count: 5, price: 1.5, ratio: 1 });
  });

  it('refuses a corrupt envelope with EventSerializationError naming the field', () => {
    const base = { _id: Long.fromNumber(1), streamId: 's', version: 1, eventId: 'e', type: 'T', timestamp };
    for (const [field, value] of [
      ['streamId', 5],
      ['version', 1.5],
      ['_id', 'x'],
      ['timestamp', '2020-01-01'],
      ['tags', 'a'],
      ['tags', ['a', 5]],
    ] as const) {
      let error: unknown;
      try {
        fromEventDocument(stored({ ...base, [field]: value }));
      } catch (e) {
        error = e;
      }
      expect(isEventSerializationError(error)).toBe(true);
      expect((error as Error).message).toContain(`"${field}"`);
    }
  });
});

describe('undefined properties', () => {
  it('are refused before a document is made: JSON would silently drop them', () => {
    expect(() => prepareAppend('s', 'any', [{ type: 'T', data: { kept: 1, optional: undefined } }])).toThrow(
      /\$\.optional is undefined/,
    );
  });
});

// The contract suite's hostile payload ("round-trips JSON data exactly"), plus the same shapes nested.
const hostileData = (): Record<string, unknown> => ({
  reference: { $ref: 'users', $id: 7, note: 'kept' },
  operators: { $set: { a: 1 }, $where: 'x', 'dotted.key': true, _bsontype: 'Long', _id: 'mine' },
  nested: { deeper: [{ $ref: 'orders', $id: 'o-1', $db: 'shop', extra: [1, 2] }] },
  bare: { $ref: 'users', $id: 7 },
  tagged: { _bsontype: 'ObjectId', id: 'not really' },
  ...JSON.parse('{"__proto__": {"polluted": true}}'),
});

// Exactly what the adapter does: toEventDocuments, the driver's insert serialization (checkKeys off,
// ignoreUndefined as the insert passes it), and a read with RAW_READ (promoteValues: false, ...).
function throughBson(data: unknown, metadata: Record<string, unknown> = {}) {
  const append = prepareAppend('s', 'any', [{ type: 'T', data, metadata }]);
  const [document] = toEventDocuments(append.events, {
    streamId: 's',
    versionBefore: 0,
    firstPosition: 1n,
    timestamp: new Date(0),
    idSupplied: false,
  });
  const bytes = BSON.serialize(document!, { checkKeys: false, ignoreUndefined: true });
  return fromEventDocument(BSON.deserialize(bytes, RAW_READ));
}

describe('event data and metadata that look like MongoDB or BSON syntax', () => {
  it('round-trip exactly: $ref/$id objects keep every key, operators, dotted keys, _bsontype, __proto__', () => {
    const data = hostileData();
    const metadata = { correlationId: 'c', ...hostileData() };
    const event = throughBson(data, metadata);
    expect(event.data).toEqual(data);
    expect(event.metadata).toEqual(metadata);
    expect(Object.getOwnPropertyNames(event.data)).toContain('__proto__');
    expect(Object.getPrototypeOf(event.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('round-trips top-level arrays, strings, numbers and null as data', () => {
    for (const data of [[{ $ref: 'x', $id: 1, more: true }], 'text', '{"looks":"like json"}', 12.5, null]) {
      expect(throughBson(data).data).toEqual(data);
    }
  });
});

describe('stored JSON text', () => {
  it('that does not parse is refused with EventSerializationError naming the field', () => {
    const document = {
      _id: Long.fromNumber(1),
      streamId: 's',
      version: 1,
      eventId: 'e',
      type: 'T',
      data: '{"cut',
      metadata: '{}',
      timestamp: new Date(0),
    };
    let error: unknown;
    try {
      fromEventDocument(stored(document));
    } catch (e) {
      error = e;
    }
    expect(isEventSerializationError(error)).toBe(true);
    expect((error as Error).message).toContain('"data"');
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('assertEventsFit (the 16 MB document limit, checked before sending)', () => {
  const withPayload = (bytes: number, where: 'data' | 'metadata') =>
    encodeEvents(
      prepareAppend('s', 'any', [
        {
          type: 'Big',
          data: where === 'data' ? { blob: 'x'.repeat(bytes) } : {},
          metadata: where === 'metadata' ? { blob: 'x'.repeat(bytes) } : {},
        },
      ]).events,
    );

  it('accepts a document just under the limit and refuses one over it, data or metadata', () => {
    expect(() => assertEventsFit(withPayload(MAX_DOCUMENT_BYTES - 1024, 'data'), 's')).not.toThrow();
    for (const where of ['data', 'metadata'] as const) {
      let error: unknown;
      try {
        assertEventsFit(withPayload(MAX_DOCUMENT_BYTES, where), 's');
      } catch (e) {
        error = e;
      }
      expect(isEventSerializationError(error)).toBe(true);
      expect((error as Error).message).toContain('16 MB');
      expect((error as { eventType?: string }).eventType).toBe('Big');
    }
  });
});
