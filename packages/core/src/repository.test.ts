import { describe, expect, it } from '@jest/globals';
import { EventSourcedAggregate } from './aggregate.js';
import {
  EventStoreUnavailableError,
  isEventStoreUnavailableError,
  isInvalidArgumentError,
} from './errors.js';
import type { AppendResult } from './event-store.js';
import type { DomainEvent, NewEvent } from './events.js';
import type { ExpectedVersionValue } from './expected-version.js';
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

// Commits the next `lostReplies` appends, then throws as if the connection dropped before the reply.
class LostReplyEventStore extends InMemoryEventStore {
  lostReplies = 0;
  override async appendEvents<E extends DomainEvent = DomainEvent>(
    streamId: string,
    expectedVersion: ExpectedVersionValue,
    events: readonly NewEvent<E>[],
  ): Promise<AppendResult> {
    const result = await super.appendEvents(streamId, expectedVersion, events);
    if (this.lostReplies === 0) return result;
    this.lostReplies--;
    throw new EventStoreUnavailableError('connection reset after COMMIT (simulated)');
  }
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
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

  it('after an unavailable store, saving the same instance again is safe: its events keep their ids', async () => {
    const eventStore = new LostReplyEventStore();
    const repository = new EventSourcedRepository({ eventStore, factory: (id) => new Clock(id) });
    const clock = new Clock('c-4');
    clock.tick();
    clock.tick();
    eventStore.lostReplies = 1;
    const metadata = { correlationId: 'req-1' };
    expect(isEventStoreUnavailableError(await rejectionOf(repository.save(clock, { metadata })))).toBe(true);
    expect(await eventStore.getStreamVersion('c-4')).toBe(2); // committed, but the caller cannot know

    await repository.save(clock, { metadata }); // the retry the JSDoc recommends
    expect(clock.version).toBe(2);
    expect(clock.getUncommittedEvents()).toEqual([]);
    const stored = await eventStore.getEvents('c-4');
    expect(stored.map((event) => event.version)).toEqual([1, 2]);
    expect(new Set(stored.map((event) => event.eventId)).size).toBe(2);
  });

  it('after an unavailable store, re-running update executes the command again on a fresh load', async () => {
    const eventStore = new LostReplyEventStore();
    const repository = new EventSourcedRepository({ eventStore, factory: (id) => new Clock(id) });
    const clock = new Clock('c-5');
    clock.tick();
    await repository.save(clock);
    let executions = 0;
    const command = (c: Clock) => {
      executions++;
      c.tick();
    };
    eventStore.lostReplies = 1;
    expect(isEventStoreUnavailableError(await rejectionOf(repository.update('c-5', command)))).toBe(true);
    await repository.update('c-5', command);
    // The first attempt had committed: the command ran twice and its event is stored twice.
    expect(executions).toBe(2);
    expect((await repository.getById('c-5')).ticks).toBe(3);
  });
});
