import { describe, expect, it } from '@jest/globals';
import { EventSourcedAggregate } from './aggregate.js';
import { type Decider, deciderFactory } from './decider.js';
import { isInvalidArgumentError } from './errors.js';
import type { DomainEvent, StoredEvent } from './events.js';
import { InMemoryEventStore } from './in-memory-event-store.js';
import { EventSourcedRepository } from './repository.js';
import type { Snapshot, SnapshotDecision, SnapshotStore } from './snapshot.js';
import type { RepositorySnapshotOptions, SnapshotProblem } from './snapshot-policy.js';

// How the repository uses snapshots when loading and saving. Failures: repository-snapshot-failures.test.ts.

type TallyEvent = DomainEvent<'Added', { amount: number }>;
interface TallyState {
  total: number;
  recent: number[];
}

class Tally extends EventSourcedAggregate<TallyEvent> {
  state: TallyState = { total: 0, recent: [] };
  add(amount: number) {
    this.raiseEvent({ type: 'Added', data: { amount } });
  }
  protected apply(event: TallyEvent) {
    this.state.total += event.data.amount;
    this.state.recent = [...this.state.recent.slice(-2), event.data.amount];
  }
  createSnapshot(): TallyState {
    return this.state;
  }
  restoreSnapshot(state: TallyState) {
    this.state = state;
  }
}

// An event store that records every stream read and how many events it returned.
class CountingEventStore extends InMemoryEventStore {
  readonly reads: { fromVersion: number; returned: number }[] = [];
  override async getEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    fromVersion = 0,
    options?: { toVersion?: number; limit?: number },
  ): Promise<StoredEvent<E>[]> {
    const events = await super.getEvents<E>(streamId, fromVersion, options);
    this.reads.push({ fromVersion, returned: events.length });
    return events;
  }
}

// Keeps copies, as the SnapshotStore contract requires. (Not structuredClone: under jest it returns
// objects of another realm, which plain-JSON checks do not recognise as plain objects.)
const copy = (snapshot: Snapshot): Snapshot => ({
  ...snapshot,
  state: JSON.parse(JSON.stringify(snapshot.state)),
  createdAt: new Date(snapshot.createdAt),
});

class MapSnapshotStore implements SnapshotStore {
  readonly snapshots = new Map<string, Snapshot>();
  readonly saved: Snapshot[] = [];
  async save(snapshot: Snapshot) {
    this.saved.push(snapshot);
    const current = this.snapshots.get(snapshot.streamId);
    if (!current || current.aggregateVersion <= snapshot.aggregateVersion) {
      this.snapshots.set(snapshot.streamId, copy(snapshot));
    }
  }
  async load(streamId: string) {
    const snapshot = this.snapshots.get(streamId);
    return snapshot && copy(snapshot);
  }
  async delete(streamId: string) {
    this.snapshots.delete(streamId);
  }
}

const every = (n: number) => ({ shouldSnapshot: (d: SnapshotDecision) => d.eventsSinceSnapshot >= n });
const never = { shouldSnapshot: () => false };

function setup(snapshots: Partial<RepositorySnapshotOptions<Tally>> = {}) {
  const events = new CountingEventStore();
  const store = new MapSnapshotStore();
  const problems: SnapshotProblem[] = [];
  const repository = new EventSourcedRepository<Tally>({
    eventStore: events,
    factory: (id) => new Tally(id),
    snapshots: { store, strategy: every(100), onError: (p) => problems.push(p), ...snapshots },
  });
  return { events, store, problems, repository };
}

/** Saves `count` events one save at a time, as a busy aggregate would, and returns the expected total. */
async function grow(repository: EventSourcedRepository<Tally>, id: string, count: number, from = 1) {
  let tally = (await repository.find(id)) ?? new Tally(id);
  for (let amount = from; amount < from + count; amount++) {
    tally.add(amount);
    await repository.save(tally);
    if (amount % 37 === 0) tally = await repository.getById(id); // reload now and then
  }
}

const sum = (n: number) => (n * (n + 1)) / 2;
const fullReplay = async (events: InMemoryEventStore, id: string) => {
  const tally = new Tally(id);
  tally.loadFromHistory(await events.getEvents<TallyEvent>(id));
  return tally;
};

describe('EventSourcedRepository with snapshots: loading', () => {
  it('loads the latest snapshot and reads only the events after it', async () => {
    const { events, store, repository, problems } = setup();
    await grow(repository, 't-1', 250);
    expect(store.snapshots.get('t-1')?.aggregateVersion).toBe(200);

    events.reads.length = 0;
    const tally = await repository.getById('t-1');
    expect(events.reads).toEqual([{ fromVersion: 200, returned: 50 }]);
    expect(tally.version).toBe(250);
    expect(tally.state).toEqual({ total: sum(250), recent: [248, 249, 250] });
    expect(tally.state).toEqual((await fullReplay(events, 't-1')).state);
    expect(problems).toEqual([]);
  });

  it('reads no event when the snapshot is at the head of the stream', async () => {
    const { events, repository } = setup({ strategy: every(10) });
    await grow(repository, 't-2', 30);
    events.reads.length = 0;
    const tally = await repository.getById('t-2');
    expect(events.reads).toEqual([{ fromVersion: 30, returned: 0 }]);
    expect(tally.state.total).toBe(sum(30));
  });

  it('ignores a snapshot of another shape, rebuilds from every event and re-snapshots on the next save', async () => {
    const { events, store, repository, problems } = setup({ snapshotVersion: 2, strategy: never });
    await grow(repository, 't-3', 40);
    // A snapshot of the old shape, deliberately wrong, so using it would show.
    await store.save({
      streamId: 't-3',
      aggregateVersion: 40,
      snapshotVersion: 1,
      state: { sum: 1, items: [] },
      createdAt: new Date(),
    });

    events.reads.length = 0;
    const tally = await repository.getById('t-3');
    expect(events.reads).toEqual([{ fromVersion: 0, returned: 40 }]);
    expect(tally.state).toEqual({ total: sum(40), recent: [38, 39, 40] });

    // The strategy never asks, yet the stale snapshot is replaced at the next save.
    tally.add(41);
    await repository.save(tally);
    expect(store.snapshots.get('t-3')).toMatchObject({ aggregateVersion: 41, snapshotVersion: 2 });
    expect(store.snapshots.get('t-3')?.state).toEqual({ total: sum(41), recent: [39, 40, 41] });

    events.reads.length = 0;
    expect((await repository.getById('t-3')).state.total).toBe(sum(41));
    expect(events.reads).toEqual([{ fromVersion: 41, returned: 0 }]);
    expect(problems).toEqual([]); // a shape change is expected after a deploy, not an error
  });

  it('gives the strategy the version, the last snapshot, the events since it, the time and the aggregate', async () => {
    const decisions: SnapshotDecision<Tally>[] = [];
    const strategy = {
      shouldSnapshot: (d: SnapshotDecision<Tally>) => decisions.push(d) > 0 && d.version === 3,
    };
    const { repository, store } = setup({ strategy });
    const before = Date.now();
    const tally = new Tally('t-4');
    tally.add(1);
    tally.add(2);
    await repository.save(tally); // version 2: no snapshot yet
    tally.add(3);
    await repository.save(tally); // version 3: snapshot
    const loaded = await repository.getById('t-4');
    loaded.add(4);
    loaded.add(5);
    await repository.save(loaded); // version 5, from the snapshot at 3

    const snapshotAt = store.snapshots.get('t-4')?.createdAt;
    expect(
      decisions.map(({ version, lastSnapshotVersion, eventsSinceSnapshot, lastSnapshotAt }) => ({
        version,
        lastSnapshotVersion,
        eventsSinceSnapshot,
        lastSnapshotAt,
      })),
    ).toEqual([
      { version: 2, lastSnapshotVersion: 0, eventsSinceSnapshot: 2, lastSnapshotAt: undefined },
      { version: 3, lastSnapshotVersion: 0, eventsSinceSnapshot: 3, lastSnapshotAt: undefined },
      { version: 5, lastSnapshotVersion: 3, eventsSinceSnapshot: 2, lastSnapshotAt: snapshotAt },
    ]);
    expect(decisions[2]?.aggregate).toBe(loaded);
    expect(decisions[0]?.now.getTime()).toBeGreaterThanOrEqual(before);
    expect(snapshotAt?.getTime()).toBe(decisions[1]?.now.getTime());
  });

  it('counts from the snapshot an instance was saved with, across several saves', async () => {
    const { store, repository } = setup({ strategy: every(3) });
    const tally = new Tally('t-5');
    for (let i = 1; i <= 10; i++) {
      tally.add(i);
      await repository.save(tally);
    }
    expect(store.saved.map((s) => s.aggregateVersion)).toEqual([3, 6, 9]);
  });

  it('snapshots a save of many events at once, without skipping past the threshold', async () => {
    const { store, repository } = setup({ strategy: every(10) });
    const tally = new Tally('t-6');
    for (let i = 1; i <= 7; i++) tally.add(i);
    await repository.save(tally);
    for (let i = 8; i <= 15; i++) tally.add(i);
    await repository.save(tally);
    expect(store.saved.map((s) => s.aggregateVersion)).toEqual([15]);
  });
});

describe('EventSourcedRepository with snapshots: saving', () => {
  it('snapshots only after the events are committed, at the committed version', async () => {
    const order: string[] = [];
    const events = new InMemoryEventStore();
    const append = events.appendEvents.bind(events);
    events.appendEvents = async (...args) => {
      const result = await append(...args);
      order.push(`append -> ${result.nextVersion}`);
      return result;
    };
    const store = new MapSnapshotStore();
    const save = store.save.bind(store);
    store.save = async (snapshot) => {
      order.push(`snapshot @ ${snapshot.aggregateVersion}`);
      await save(snapshot);
    };
    const repository = new EventSourcedRepository({
      eventStore: events,
      factory: (id) => new Tally(id),
      snapshots: { store, strategy: every(1) },
    });
    const tally = new Tally('t-7');
    tally.add(5);
    tally.add(6);
    await repository.save(tally);
    expect(order).toEqual(['append -> 2', 'snapshot @ 2']);
  });

  it('takes no snapshot when the append fails', async () => {
    const { store, repository } = setup({ strategy: every(1) });
    const first = new Tally('t-8');
    first.add(1);
    await repository.save(first);
    const stale = new Tally('t-8'); // believes the stream is new
    stale.add(2);
    await expect(repository.save(stale)).rejects.toMatchObject({ code: 'ES_CONCURRENCY_CONFLICT' });
    expect(store.saved.map((s) => s.aggregateVersion)).toEqual([1]);
  });

  it('copies the state by default, so later changes to the aggregate do not alter the snapshot', async () => {
    const { store, repository } = setup({ strategy: every(1) });
    const tally = new Tally('t-9');
    tally.add(10);
    await repository.save(tally);
    tally.state.recent.push(999);
    tally.state.total = -1;
    expect(store.snapshots.get('t-9')?.state).toEqual({ total: 10, recent: [10] });
  });

  it('uses a custom serializer both ways', async () => {
    const serializer = {
      serialize: (state: unknown) => ({ packed: JSON.stringify(state) }),
      deserialize: (value: unknown) => JSON.parse((value as { packed: string }).packed),
    };
    const { store, repository, events } = setup({ strategy: every(5), serializer });
    await grow(repository, 't-10', 7);
    expect(store.snapshots.get('t-10')?.state).toEqual({
      packed: JSON.stringify({ total: sum(5), recent: [3, 4, 5] }),
    });
    events.reads.length = 0;
    expect((await repository.getById('t-10')).state.total).toBe(sum(7));
    expect(events.reads).toEqual([{ fromVersion: 5, returned: 2 }]);
  });

  it('snapshots decider aggregates through the same repository', async () => {
    const counter: Decider<{ count: number }, { by: number }, DomainEvent<'Counted', { by: number }>> = {
      initialState: () => ({ count: 0 }),
      decide: (command) => ({ type: 'Counted', data: { by: command.by } }),
      evolve: (state, event) => ({ count: state.count + event.data.by }),
    };
    const store = new MapSnapshotStore();
    const events = new CountingEventStore();
    const repository = new EventSourcedRepository({
      eventStore: events,
      factory: deciderFactory(counter),
      snapshots: { store, strategy: every(2) },
    });
    const aggregate = deciderFactory(counter)('c-1');
    for (const by of [1, 2, 3]) {
      aggregate.execute({ by });
      await repository.save(aggregate);
    }
    expect(store.snapshots.get('c-1')).toMatchObject({ aggregateVersion: 2, state: { count: 3 } });
    events.reads.length = 0;
    expect((await repository.getById('c-1')).state).toEqual({ count: 6 });
    expect(events.reads).toEqual([{ fromVersion: 2, returned: 1 }]);
  });

  it('never touches the snapshot store when snapshots are disabled or the aggregate cannot snapshot', async () => {
    const touched: string[] = [];
    const spy: SnapshotStore = {
      save: async () => void touched.push('save'),
      load: async () => void touched.push('load'),
      delete: async () => void touched.push('delete'),
    };
    class Plain extends EventSourcedAggregate<TallyEvent> {
      add(amount: number) {
        this.raiseEvent({ type: 'Added', data: { amount } });
      }
      protected apply() {}
    }
    const eventStore = new InMemoryEventStore();
    const disabled = new EventSourcedRepository({
      eventStore,
      factory: (id) => new Tally(id),
      snapshots: { store: spy, strategy: every(1), enabled: false },
    });
    const plain = new EventSourcedRepository({
      eventStore,
      factory: (id) => new Plain(id),
      snapshots: { store: spy, strategy: every(1) },
    });
    const tally = new Tally('d-1');
    tally.add(1);
    await disabled.save(tally);
    await disabled.getById('d-1');
    const other = new Plain('p-1');
    other.add(1);
    await plain.save(other);
    await plain.getById('p-1');
    expect(touched).toEqual([]);
    expect(disabled.snapshotsEnabled).toBe(false);
    expect(plain.snapshotsEnabled).toBe(true);
  });

  it('refuses incomplete or invalid snapshot options when it is created', () => {
    const eventStore = new InMemoryEventStore();
    const store = new MapSnapshotStore();
    const attempts: Partial<RepositorySnapshotOptions<Tally>>[] = [
      { strategy: every(1) },
      { store },
      { store, strategy: {} as never },
      { store, strategy: every(1), snapshotVersion: 0 },
      { store, strategy: every(1), snapshotVersion: 1.5 },
      { store, strategy: every(1), serializer: { serialize: (s: unknown) => s } as never },
    ];
    for (const snapshots of attempts) {
      const create = () =>
        new EventSourcedRepository({
          eventStore,
          factory: (id) => new Tally(id),
          snapshots: snapshots as RepositorySnapshotOptions<Tally>,
        });
      let thrown: unknown;
      try {
        create();
      } catch (error) {
        thrown = error;
      }
      expect(isInvalidArgumentError(thrown)).toBe(true);
    }
  });
});
