import { describe, expect, it } from '@jest/globals';
import { EventSourcedAggregate } from './aggregate.js';
import { isInvalidArgumentError } from './errors.js';
import type { DomainEvent } from './events.js';
import { InMemoryEventStore } from './in-memory-event-store.js';
import { EventSourcedRepository } from './repository.js';
import type { Snapshot, SnapshotStore } from './snapshot.js';

// Repository behaviour apart from snapshots (see repository-snapshot*.test.ts) and the quick start.

type TickEvent = DomainEvent<'Ticked', { n: number }>;

class Clock extends EventSourcedAggregate<TickEvent> {
  ticks = 0;
  tick() {
    this.raiseEvent({ type: 'Ticked', data: { n: this.ticks + 1 } });
  }
  protected apply() {
    this.ticks += 1;
  }
  createSnapshot() {
    return { ticks: this.ticks };
  }
  restoreSnapshot(state: { ticks: number }) {
    this.ticks = state.ticks;
  }
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('EventSourcedRepository', () => {
  it('find returns undefined for a stream without events', async () => {
    const repository = new EventSourcedRepository({
      eventStore: new InMemoryEventStore(),
      factory: (id) => new Clock(id),
    });
    expect(await repository.find('none')).toBeUndefined();
    expect(await repository.exists('none')).toBe(false);
    expect(await repository.getVersion('none')).toBe(0);
  });

  it('save without pending events writes nothing and returns undefined', async () => {
    const eventStore = new InMemoryEventStore();
    const repository = new EventSourcedRepository({ eventStore, factory: (id) => new Clock(id) });
    expect(await repository.save(new Clock('c-1'))).toBeUndefined();
    expect(await eventStore.streamExists('c-1')).toBe(false);
  });

  it('prefixes stream ids and checks aggregate ids', async () => {
    const eventStore = new InMemoryEventStore();
    const repository = new EventSourcedRepository({
      eventStore,
      factory: (id) => new Clock(id),
      streamPrefix: 'clock-',
    });
    const clock = new Clock('c-2');
    clock.tick();
    await repository.save(clock);
    expect(await eventStore.getStreamVersion('clock-c-2')).toBe(1);
    expect((await repository.getById('c-2')).ticks).toBe(1);
    expect(repository.streamIdFor('x')).toBe('clock-x');
    expect(isInvalidArgumentError(thrownBy(() => repository.streamIdFor('')))).toBe(true);
  });

  it('refuses to be created without an event store or a factory', () => {
    const eventStore = new InMemoryEventStore();
    const attempts = [
      () => new EventSourcedRepository({ eventStore: undefined as never, factory: (id) => new Clock(id) }),
      () => new EventSourcedRepository({ eventStore, factory: 'Clock' as never }),
    ];
    for (const attempt of attempts) expect(isInvalidArgumentError(thrownBy(attempt))).toBe(true);
  });

  it('update loads from the snapshot and snapshots after its save', async () => {
    const saved: Snapshot[] = [];
    const store: SnapshotStore = {
      save: async (snapshot) => void saved.push(JSON.parse(JSON.stringify(snapshot))),
      load: async () => {
        const latest = saved.at(-1);
        return latest && { ...latest, createdAt: new Date(latest.createdAt) };
      },
      delete: async () => undefined,
    };
    const repository = new EventSourcedRepository({
      eventStore: new InMemoryEventStore(),
      factory: (id) => new Clock(id),
      snapshots: { store, strategy: { shouldSnapshot: (d) => d.eventsSinceSnapshot >= 2 } },
    });
    const clock = new Clock('c-3');
    clock.tick();
    await repository.save(clock);
    for (let i = 0; i < 4; i++) await repository.update('c-3', (c) => c.tick());
    expect(saved.map((s) => s.aggregateVersion)).toEqual([2, 4]);
    expect((await repository.getById('c-3')).ticks).toBe(5);
  });
});
