import { isEventSerializationError, isInvalidArgumentError, type Snapshot } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { BSON, Decimal128, Long } from 'mongodb';
import { RAW_READ } from '../events/event-document.js';
import { MongoSnapshotStore } from './mongo-snapshot-store.js';
import { fromSnapshotDocument, toSnapshotDocument } from './snapshot-document.js';

const stored = (document: object) => BSON.deserialize(BSON.serialize(document), RAW_READ);

const snapshot: Snapshot = {
  streamId: 'account-1',
  aggregateVersion: 42,
  snapshotVersion: 3,
  state: { owner: 'Zoë', $es: 'Date', 'dotted.key': 1, tiny: 1e-7, min: Number.MIN_SAFE_INTEGER },
  createdAt: new Date('2026-01-02T03:04:05.678Z'),
};

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('snapshot documents', () => {
  it('round-trip every field exactly, tag-like and dotted keys included', () => {
    const document = toSnapshotDocument(snapshot);
    expect(document._id).toBe('account-1');
    expect(typeof document.state).toBe('string');
    expect(fromSnapshotDocument(stored(document))).toEqual(snapshot);
  });

  it('read versions of any integer width and a state stored as a BSON document', () => {
    const read = fromSnapshotDocument(
      stored({
        _id: 's',
        aggregateVersion: Long.fromNumber(9),
        snapshotVersion: Decimal128.fromString('1'),
        state: { balance: Decimal128.fromString('10.50') },
        createdAt: new Date(0),
      }),
    );
    expect(read).toEqual({
      streamId: 's',
      aggregateVersion: 9,
      snapshotVersion: 1,
      state: { balance: 10.5 },
      createdAt: new Date(0),
    });
  });

  it('refuse a corrupt stored state with EventSerializationError', () => {
    const error = thrown(() =>
      fromSnapshotDocument(
        stored({
          _id: 's',
          aggregateVersion: 1,
          snapshotVersion: 1,
          state: '{not json',
          createdAt: new Date(),
        }),
      ),
    );
    expect(isEventSerializationError(error)).toBe(true);
  });

  it("are checked before saving, by core's assertValidSnapshot, before any request", async () => {
    // Port 9 refuses connections: a refusal that reached the server would be "unavailable" instead.
    const store = new MongoSnapshotStore({
      connection: 'mongodb://127.0.0.1:9/es?serverSelectionTimeoutMS=300&connectTimeoutMS=300',
    });
    const refusal = (candidate: Snapshot) =>
      store.save(candidate).then(
        () => undefined,
        (error: unknown) => error,
      );
    try {
      const bad: Array<Partial<Snapshot>> = [
        { streamId: { $gt: '' } as unknown as string },
        { aggregateVersion: 0 },
        { snapshotVersion: 1.5 },
        { aggregateVersion: 2 ** 31 }, // the one rule of every store: versions fit 32 bits
        { createdAt: new Date(Number.NaN) },
        { state: undefined },
      ];
      for (const change of bad) {
        expect(isInvalidArgumentError(await refusal({ ...snapshot, ...change }))).toBe(true);
      }
      expect(isEventSerializationError(await refusal({ ...snapshot, state: { n: 1n } }))).toBe(true);
      expect(() => toSnapshotDocument({ ...snapshot, state: null })).not.toThrow();
    } finally {
      await store.close();
    }
  });
});
