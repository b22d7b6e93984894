import { describe, expect, it } from '@jest/globals';
import { EventSourcedAggregate } from './aggregate.js';
import { isAggregateNotFoundError, isEventSerializationError, isInvalidArgumentError } from './errors.js';
import type { DomainEvent, StoredEvent } from './events.js';
import { InMemoryEventStore } from './in-memory-event-store.js';
import { EventSourcedRepository } from './repository.js';
import type { Snapshot, SnapshotDecision, SnapshotStore } from './snapshot.js';
import type { RepositorySnapshotOptions, SnapshotProblem } from './snapshot-policy.js';

// A snapshot never fails the user's operation: whatever goes wrong, loading falls back to events,
// saving keeps the committed events, and the problem is reported to onError.

type ItemEvent = DomainEvent<'Added', { sku: string }>;
interface ItemsState {
  skus: string[];
  count: number;
}

class Items extends EventSourcedAggregate<ItemEvent> {
  state: ItemsState = { skus: [], count: 0 };
  add(sku: string) {
    this.raiseEvent({ type: 'Added', data: { sku } });
  }
  protected apply(event: ItemEvent) {
    this.state.skus.push(event.data.sku.toUpperCase().toLowerCase()); // throws without an array or a sku
    this.state.count += 1;
  }
  createSnapshot(): ItemsState {
    return this.state;
  }
  restoreSnapshot(state: ItemsState) {
    if (typeof state?.count !== 'number') throw new TypeError('not an ItemsState');
    this.state = state;
  }
}

class CountingEventStore extends InMemoryEventStore {
  readonly reads: number[] = [];
  override async getEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    fromVersion = 0,
    options?: { toVersion?: number; limit?: number },
  ): Promise<StoredEvent<E>[]> {
    this.reads.push(fromVersion);
    return super.getEvents<E>(streamId, fromVersion, options);
  }
}

const copy = (snapshot: Snapshot): Snapshot => ({
  ...snapshot,
  state: JSON.parse(JSON.stringify(snapshot.state)),
  createdAt: new Date(snapshot.createdAt),
});

/** A snapshot store whose operations can be made to fail or to wait. */
class ControllableSnapshotStore implements SnapshotStore {
  readonly snapshots = new Map<string, Snapshot>();
  failLoad = false;
  failSave = false;
  gate: Promise<void> | undefined;
  async save(snapshot: Snapshot) {
    await this.gate;
    if (this.failSave) throw new Error('snapshot store down (save)');
    const stored = this.snapshots.get(snapshot.streamId);
    if (stored && stored.aggregateVersion > snapshot.aggregateVersion) return;
    this.snapshots.set(snapshot.streamId, copy(snapshot));
  }
  async load(streamId: string) {
    if (this.failLoad) throw new Error('snapshot store down (load)');
    const snapshot = this.snapshots.get(streamId);
    return snapshot && copy(snapshot);
  }
  async delete(streamId: string) {
    this.snapshots.delete(streamId);
  }
  put(streamId: string, aggregateVersion: number, state: unknown, extra: Partial<Snapshot> = {}) {
    const snapshot = {
      streamId,
      aggregateVersion,
      snapshotVersion: 1,
      state,
      createdAt: new Date(),
      ...extra,
    };
    this.snapshots.set(streamId, snapshot);
  }
}

const every = (n: number) => ({ shouldSnapshot: (d: SnapshotDecision) => d.eventsSinceSnapshot >= n });
const never = { shouldSnapshot: () => false };

function setup(snapshots: Partial<RepositorySnapshotOptions<Items>> = {}) {
  const events = new CountingEventStore();
  const store = new ControllableSnapshotStore();
  const problems: SnapshotProblem[] = [];
  const repository = new EventSourcedRepository<Items>({
    eventStore: events,
    factory: (id) => new Items(id),
    snapshots: { store, strategy: every(1), onError: (p) => problems.push(p), ...snapshots },
  });
  return { events, store, problems, repository };
}

async function seed(repository: EventSourcedRepository<Items>, id: string, skus: string[]) {
  const items = new Items(id);
  for (const sku of skus) items.add(sku);
  await repository.save(items);
  return items;
}

const summary = (problems: SnapshotProblem[]) =>
  problems.map(({ operation, streamId, error }) => ({
    operation,
    streamId,
    message: (error as Error).message,
  }));

describe('EventSourcedRepository: a failing snapshot store never fails the operation', () => {
  it('save commits the events and resolves when the snapshot store fails, and reports it', async () => {
    const { events, store, problems, repository } = setup();
    store.failSave = true;
    const items = new Items('i-1');
    items.add('a');
    const result = await repository.save(items);
    expect(result?.nextVersion).toBe(1);
    expect(items.version).toBe(1);
    expect(await events.getStreamVersion('i-1')).toBe(1);
    expect(summary(problems)).toEqual([
      { operation: 'save', streamId: 'i-1', message: 'snapshot store down (save)' },
    ]);
  });

  it('getById rebuilds from every event when loading the snapshot fails, and reports it', async () => {
    const { events, store, problems, repository } = setup();
    await seed(repository, 'i-2', ['a', 'b', 'c']);
    store.failLoad = true;
    events.reads.length = 0;
    const items = await repository.getById('i-2');
    expect(items.state).toEqual({ skus: ['a', 'b', 'c'], count: 3 });
    expect(events.reads).toEqual([0]);
    expect(summary(problems)).toEqual([
      { operation: 'load', streamId: 'i-2', message: 'snapshot store down (load)' },
    ]);
  });

  it('keeps saving and loading while the store is down, and snapshots again once it is back', async () => {
    const { store, problems, repository } = setup();
    store.failLoad = true;
    store.failSave = true;
    await seed(repository, 'i-3', ['a']);
    const items = await repository.getById('i-3');
    items.add('b');
    await repository.save(items);
    expect(problems.map((p) => p.operation)).toEqual(['save', 'load', 'save']);
    store.failLoad = false;
    store.failSave = false;
    items.add('c');
    await repository.save(items);
    expect(store.snapshots.get('i-3')).toMatchObject({ aggregateVersion: 3, state: { count: 3 } });
  });

  it('falls back to events when the snapshot cannot be restored, and re-snapshots on the next save', async () => {
    const { events, store, problems, repository } = setup({ strategy: never });
    await seed(repository, 'i-4', ['a', 'b']);
    store.put('i-4', 2, { garbage: true });
    events.reads.length = 0;
    const items = await repository.getById('i-4');
    expect(items.state).toEqual({ skus: ['a', 'b'], count: 2 });
    expect(events.reads).toEqual([0]);
    expect(summary(problems)).toEqual([
      { operation: 'restore', streamId: 'i-4', message: 'not an ItemsState' },
    ]);
    items.add('c');
    await repository.save(items);
    expect(store.snapshots.get('i-4')).toMatchObject({ aggregateVersion: 3, state: { count: 3 } });
  });

  it('falls back to a full replay when a restored snapshot then fails on the events after it', async () => {
    const { events, store, problems, repository } = setup({ strategy: never });
    await seed(repository, 'i-5', ['a', 'b', 'c']);
    store.put('i-5', 1, { count: 1 }); // restores, but has no skus array: the next event throws
    events.reads.length = 0;
    const items = await repository.getById('i-5');
    expect(items.state).toEqual({ skus: ['a', 'b', 'c'], count: 3 });
    expect(items.version).toBe(3);
    expect(events.reads).toEqual([1, 0]);
    expect(problems.map((p) => p.operation)).toEqual(['restore']);
    expect(problems[0]?.error).toBeInstanceOf(TypeError);
  });

  it('still throws when the events themselves cannot be applied, after trying without the snapshot', async () => {
    const { events, store, problems, repository } = setup({ strategy: never });
    await seed(repository, 'i-6', ['a']);
    store.put('i-6', 1, { skus: ['a'], count: 1 });
    // An event this code cannot apply: a full replay fails too, so the error is the user's to see.
    await events.appendEvents('i-6', 1, [{ type: 'Added', data: {} }]);
    const error = await repository.getById('i-6').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(problems.map((p) => p.operation)).toEqual(['restore']);
  });

  it('reports not found when the snapshot belongs to a stream this event store does not have', async () => {
    const { store, problems } = setup();
    store.put('i-13', 5, { skus: [], count: 5 });
    const other = new EventSourcedRepository<Items>({
      eventStore: new InMemoryEventStore(),
      factory: (id) => new Items(id),
      snapshots: { store, strategy: never, onError: (p) => problems.push(p) },
    });
    const error = await other.getById('i-13').catch((e: unknown) => e);
    expect(isAggregateNotFoundError(error)).toBe(true);
    expect(problems.map((p) => p.operation)).toEqual(['load']);
  });

  it('ignores a snapshot ahead of its stream and loads from events', async () => {
    const { store, problems, repository } = setup({ strategy: never });
    await seed(repository, 'i-7', ['a', 'b']);
    store.put('i-7', 10, { skus: ['x'], count: 10 });
    const items = await repository.getById('i-7');
    expect(items.version).toBe(2);
    expect(items.state).toEqual({ skus: ['a', 'b'], count: 2 });
    expect(problems.map((p) => p.operation)).toEqual(['load']);
    expect(isInvalidArgumentError(problems[0]?.error)).toBe(true);
    expect((problems[0]!.error as Error).message).toMatch(/at version 10 but the stream is at version 2/);
  });

  it('ignores a malformed snapshot returned by the store', async () => {
    const { store, problems, repository } = setup({ strategy: never });
    await seed(repository, 'i-8', ['a']);
    for (const bad of [{ streamId: 'other' }, { aggregateVersion: 0 }, { aggregateVersion: 1.5 }]) {
      store.put('i-8', 1, { skus: ['x'], count: 9 }, bad);
      expect((await repository.getById('i-8')).state).toEqual({ skus: ['a'], count: 1 });
    }
    expect(problems.map((p) => p.operation)).toEqual(['load', 'load', 'load']);
  });

  it('reports a strategy, serializer or state that throws, and the save still succeeds', async () => {
    const failing = [
      {
        strategy: {
          shouldSnapshot: () => {
            throw new Error('strategy bug');
          },
        },
      },
      {
        serializer: {
          serialize: () => {
            throw new Error('serializer bug');
          },
          deserialize: (v: unknown) => v,
        },
      },
    ];
    for (const options of failing) {
      const { events, problems, repository } = setup(options);
      await seed(repository, 'i-9', ['a']);
      expect(await events.getStreamVersion('i-9')).toBe(1);
      expect(summary(problems)).toEqual([
        { operation: 'save', streamId: 'i-9', message: expect.stringMatching(/bug/) },
      ]);
    }
  });

  it('refuses state that plain JSON would alter, pointing to JsonSnapshotSerializer', async () => {
    class Dated extends Items {
      override createSnapshot() {
        return { ...this.state, at: new Date() } as unknown as ItemsState;
      }
    }
    const problems: SnapshotProblem[] = [];
    const repository = new EventSourcedRepository<Items>({
      eventStore: new InMemoryEventStore(),
      factory: (id) => new Dated(id),
      snapshots: {
        store: new ControllableSnapshotStore(),
        strategy: every(1),
        onError: (p) => problems.push(p),
      },
    });
    const dated = new Dated('i-11');
    dated.add('a');
    await repository.save(dated);
    expect(isEventSerializationError(problems.at(-1)?.error)).toBe(true);
    expect((problems.at(-1)!.error as Error).message).toMatch(/\$\.at is a Date.*JsonSnapshotSerializer/s);
  });

  it('survives an onError hook that throws', async () => {
    const { store, repository } = setup({
      onError: () => {
        throw new Error('hook bug');
      },
    });
    store.failSave = true;
    store.failLoad = true;
    await seed(repository, 'i-12', ['a']);
    expect((await repository.getById('i-12')).state.count).toBe(1);
  });
});

describe('EventSourcedRepository: background snapshots', () => {
  it('save resolves before the snapshot is stored; flushSnapshots waits for it', async () => {
    const { store, repository } = setup({ background: true });
    let open: () => void = () => undefined;
    store.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const items = await seed(repository, 'b-1', ['a', 'b']);
    expect(items.version).toBe(2);
    expect(store.snapshots.has('b-1')).toBe(false); // still waiting at the gate
    // The aggregate changes after save; the snapshot must still be the committed state.
    items.add('uncommitted');
    const flushed = repository.flushSnapshots();
    open();
    await flushed;
    expect(store.snapshots.get('b-1')).toMatchObject({
      aggregateVersion: 2,
      state: { skus: ['a', 'b'], count: 2 },
    });
  });

  it('reports a background failure and flushSnapshots still resolves', async () => {
    const { store, problems, repository } = setup({ background: true });
    store.failSave = true;
    await seed(repository, 'b-2', ['a']);
    await repository.flushSnapshots();
    expect(summary(problems)).toEqual([
      { operation: 'save', streamId: 'b-2', message: 'snapshot store down (save)' },
    ]);
  });

  it('snapshots every save in the background and loads from the newest', async () => {
    const { store, repository } = setup({ background: true });
    const items = new Items('b-3');
    for (const sku of ['a', 'b', 'c', 'd']) {
      items.add(sku);
      await repository.save(items);
    }
    await repository.flushSnapshots();
    expect(store.snapshots.get('b-3')).toMatchObject({ aggregateVersion: 4, state: { count: 4 } });
    expect((await repository.getById('b-3')).state.skus).toEqual(['a', 'b', 'c', 'd']);
  });

  it('flushSnapshots resolves at once when nothing is pending', async () => {
    const { repository } = setup({ background: true });
    await expect(repository.flushSnapshots()).resolves.toBeUndefined();
  });
});
