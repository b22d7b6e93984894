import { randomUUID } from 'node:crypto';
import {
  isEventSerializationError,
  isInvalidArgumentError,
  MAX_ID_LENGTH,
  type Snapshot,
  type SnapshotStore,
} from '@es/core';
import { afterEach, describe, expect, it, jest } from '@jest/globals';

/** How to open and close the snapshot store under test. */
export interface SnapshotStoreContractConfig {
  /** Shown in the suite's title, e.g. "PostgresSnapshotStore (PGlite)". */
  readonly name: string;
  /** Returns a ready store. Called once or more per test; the tests use fresh stream ids. */
  readonly create: () => Promise<SnapshotStore>;
  /** Releases what `create` made (connections, schemas). Defaults to doing nothing. */
  readonly cleanup?: (store: SnapshotStore) => Promise<void>;
  /** Per-test timeout in ms. Defaults to 30,000. */
  readonly timeoutMs?: number;
}

/**
 * The behaviour every `SnapshotStore` adapter must show, as one jest suite: latest-wins saves
 * (an older save never replaces a newer snapshot, also under concurrent saves), exact round trips
 * of state and dates, isolation between streams, delete, copies rather than shared objects, and
 * refusal of invalid input. Call it from an adapter's test file.
 *
 * @example
 * describeSnapshotStoreContract({ name: 'InMemorySnapshotStore', create: async () => new InMemorySnapshotStore() });
 */
export function describeSnapshotStoreContract(config: SnapshotStoreContractConfig): void {
  describe(`SnapshotStore contract: ${config.name}`, () => {
    jest.setTimeout(config.timeoutMs ?? 30_000);
    const open = storeOpener(config);
    savingAndLoading(open);
    latestWins(open);
    deleting(open);
    badInput(open);
  });
}

type Open = () => Promise<SnapshotStore>;

function storeOpener(config: SnapshotStoreContractConfig): Open {
  const opened: SnapshotStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0).reverse()) await config.cleanup?.(store);
  });
  return async () => {
    const store = await config.create();
    opened.push(store);
    return store;
  };
}

const newStreamId = (): string => `snapshot-${randomUUID()}`;

function snapshotOf(streamId: string, aggregateVersion: number, state: unknown = { at: aggregateVersion }) {
  return {
    streamId,
    aggregateVersion,
    snapshotVersion: 1,
    state,
    createdAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678) + aggregateVersion),
  } satisfies Snapshot;
}

// Runs the operation and returns what it threw or rejected with (a synchronous throw counts too).
async function rejection(operation: () => Promise<unknown>): Promise<unknown> {
  return Promise.resolve()
    .then(operation)
    .then(
      () => {
        throw new Error('expected the operation to be refused, but it succeeded');
      },
      (error: unknown) => error,
    );
}

function savingAndLoading(open: Open): void {
  describe('save and load', () => {
    it('returns undefined for a stream without a snapshot', async () => {
      const store = await open();
      expect(await store.load(newStreamId())).toBeUndefined();
    });

    it('returns every field as saved, createdAt as a Date to the millisecond', async () => {
      const store = await open();
      const snapshot = { ...snapshotOf(newStreamId(), 42, { balance: 100 }), snapshotVersion: 3 };
      await store.save(snapshot);
      const loaded = await store.load(snapshot.streamId);
      expect(loaded).toEqual(snapshot);
      expect(loaded?.createdAt).toBeInstanceOf(Date);
      expect(loaded?.createdAt.getTime()).toBe(snapshot.createdAt.getTime());
    });

    it('round-trips JSON state exactly: nesting, unicode, quotes, numbers, tag-like keys, null', async () => {
      const store = await open();
      const state = {
        owner: 'Zoë "the" O\'Brien — 日本語 🚀 \\ \n\t',
        counts: [0, -1, 1.5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e-7],
        flags: { active: true, closed: false, note: null },
        nested: { a: { b: { c: [[], {}, [{ d: 'deep' }]] } } },
        'dotted.key': 1,
        $es: 'Date',
        v: '2026-01-01T00:00:00.000Z',
      };
      const streamId = newStreamId();
      await store.save(snapshotOf(streamId, 1, state));
      expect((await store.load(streamId))?.state).toEqual(state);
      const nullState = newStreamId();
      await store.save(snapshotOf(nullState, 1, null));
      expect((await store.load(nullState))?.state).toBeNull();
    });

    it('keeps the key order of objects, which iteration over the restored state depends on', async () => {
      const store = await open();
      const streamId = newStreamId();
      const state = { zebra: 1, apple: { z: 1, a: 2, m: 3 }, '10': 'ten', mango: [{ b: 1, a: 2 }] };
      await store.save(snapshotOf(streamId, 1, state));
      const loaded = (await store.load(streamId))?.state as typeof state;
      expect(JSON.stringify(loaded)).toBe(JSON.stringify(state));
    });

    it('round-trips a large state (about 1 MB)', async () => {
      const store = await open();
      const items = Object.fromEntries(
        Array.from({ length: 10_000 }, (_, i) => [`sku-${i}`, { quantity: i, name: `Item number ${i}` }]),
      );
      const streamId = newStreamId();
      await store.save(snapshotOf(streamId, 10_000, { items }));
      expect((await store.load(streamId))?.state).toEqual({ items });
    });

    it('accepts stream ids with quotes, SQL, unicode and the maximum length', async () => {
      const store = await open();
      const ids = [
        `quote'"; DROP TABLE snapshots; -- ${randomUUID()}`,
        `ünïcödé/流/${randomUUID()}`,
        `${randomUUID()}-${'x'.repeat(MAX_ID_LENGTH - 37)}`,
      ];
      for (const [index, streamId] of ids.entries()) await store.save(snapshotOf(streamId, index + 1));
      for (const [index, streamId] of ids.entries()) {
        expect((await store.load(streamId))?.aggregateVersion).toBe(index + 1);
      }
    });

    it('stores and returns copies: mutating objects never changes the stored snapshot', async () => {
      const store = await open();
      const streamId = newStreamId();
      const state = { items: [{ sku: 'a', quantity: 1 }] };
      await store.save(snapshotOf(streamId, 1, state));
      state.items[0]!.quantity = 99;
      const first = (await store.load(streamId))!;
      (first.state as typeof state).items.push({ sku: 'b', quantity: 2 });
      first.createdAt.setTime(0);
      const second = await store.load(streamId);
      expect(second?.state).toEqual({ items: [{ sku: 'a', quantity: 1 }] });
      expect(second?.createdAt.getTime()).toBe(snapshotOf(streamId, 1).createdAt.getTime());
    });

    it('keeps streams apart', async () => {
      const store = await open();
      const [a, b] = [newStreamId(), newStreamId()];
      await store.save(snapshotOf(a, 5, 'state of a'));
      await store.save(snapshotOf(b, 2, 'state of b'));
      expect((await store.load(a))?.state).toBe('state of a');
      expect((await store.load(b))?.state).toBe('state of b');
    });
  });
}

function latestWins(open: Open): void {
  describe('latest snapshot wins', () => {
    it('replaces a snapshot with a newer one', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.save(snapshotOf(streamId, 10));
      await store.save(snapshotOf(streamId, 20));
      expect(await store.load(streamId)).toEqual(snapshotOf(streamId, 20));
    });

    it('ignores a late save of an older snapshot', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.save(snapshotOf(streamId, 20));
      await store.save(snapshotOf(streamId, 7));
      expect(await store.load(streamId)).toEqual(snapshotOf(streamId, 20));
    });

    it('replaces a snapshot of the same version (e.g. a re-shaped one)', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.save(snapshotOf(streamId, 10, { shape: 'old' }));
      const reshaped = { ...snapshotOf(streamId, 10, { shape: 'new' }), snapshotVersion: 2 };
      await store.save(reshaped);
      expect(await store.load(streamId)).toEqual(reshaped);
    });

    it('keeps the highest version when saves of one stream run concurrently, in any order', async () => {
      const store = await open();
      const streamId = newStreamId();
      const versions = Array.from({ length: 30 }, (_, i) => ((i * 17) % 30) + 1);
      await Promise.all(versions.map((version) => store.save(snapshotOf(streamId, version))));
      expect(await store.load(streamId)).toEqual(snapshotOf(streamId, 30));
    });

    it('saves many streams concurrently without mixing them up', async () => {
      const store = await open();
      const streams = Array.from({ length: 20 }, () => newStreamId());
      await Promise.all(streams.map((streamId, i) => store.save(snapshotOf(streamId, i + 1, { i }))));
      const loaded = await Promise.all(streams.map((streamId) => store.load(streamId)));
      expect(loaded.map((snapshot) => snapshot?.state)).toEqual(streams.map((_, i) => ({ i })));
    });
  });
}

function deleting(open: Open): void {
  describe('delete', () => {
    it("removes the stream's snapshot and leaves the others", async () => {
      const store = await open();
      const [a, b] = [newStreamId(), newStreamId()];
      await store.save(snapshotOf(a, 3));
      await store.save(snapshotOf(b, 4));
      await store.delete(a);
      expect(await store.load(a)).toBeUndefined();
      expect((await store.load(b))?.aggregateVersion).toBe(4);
    });

    it('accepts a stream without a snapshot', async () => {
      const store = await open();
      await expect(store.delete(newStreamId())).resolves.toBeUndefined();
    });

    it('lets a stream start again, even at a lower version', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.save(snapshotOf(streamId, 50));
      await store.delete(streamId);
      await store.save(snapshotOf(streamId, 2));
      expect((await store.load(streamId))?.aggregateVersion).toBe(2);
    });
  });
}

function badInput(open: Open): void {
  describe('bad input', () => {
    const invalid: readonly [string, (streamId: string) => Snapshot][] = [
      ['an empty stream id', () => snapshotOf('', 1)],
      ['a non-string stream id', () => ({ ...snapshotOf('x', 1), streamId: 42 as unknown as string })],
      ['aggregateVersion 0', (id) => snapshotOf(id, 0)],
      ['a negative aggregateVersion', (id) => snapshotOf(id, -3)],
      ['a fractional aggregateVersion', (id) => ({ ...snapshotOf(id, 1), aggregateVersion: 1.5 })],
      ['aggregateVersion NaN', (id) => ({ ...snapshotOf(id, 1), aggregateVersion: Number.NaN })],
      ['snapshotVersion 0', (id) => ({ ...snapshotOf(id, 1), snapshotVersion: 0 })],
      ['an invalid createdAt', (id) => ({ ...snapshotOf(id, 1), createdAt: new Date(Number.NaN) })],
      ['a createdAt that is not a Date', (id) => ({ ...snapshotOf(id, 1), createdAt: 0 as unknown as Date })],
    ];
    for (const [what, make] of invalid) {
      it(`refuses ${what} with InvalidArgumentError and stores nothing`, async () => {
        const store = await open();
        const streamId = newStreamId();
        const snapshot = make(streamId);
        expect(isInvalidArgumentError(await rejection(() => store.save(snapshot)))).toBe(true);
        expect(await store.load(streamId)).toBeUndefined();
      });
    }

    const notJson: readonly [string, unknown][] = [
      ['a Date', { openedAt: new Date() }],
      ['a bigint', { balance: 10n }],
      ['a Map', new Map([['a', 1]])],
      ['NaN', { ratio: Number.NaN }],
    ];
    for (const [what, state] of notJson) {
      it(`refuses state holding ${what} with EventSerializationError`, async () => {
        const store = await open();
        const streamId = newStreamId();
        const error = await rejection(() => store.save(snapshotOf(streamId, 1, state)));
        expect(isEventSerializationError(error)).toBe(true);
        expect(await store.load(streamId)).toBeUndefined();
      });
    }

    it('refuses invalid stream ids in load and delete with InvalidArgumentError', async () => {
      const store = await open();
      for (const streamId of ['', 'x'.repeat(MAX_ID_LENGTH + 1), 7 as unknown as string]) {
        expect(isInvalidArgumentError(await rejection(() => store.load(streamId)))).toBe(true);
        expect(isInvalidArgumentError(await rejection(() => store.delete(streamId)))).toBe(true);
      }
    });
  });
}
