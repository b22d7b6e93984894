import {
  type DomainEvent,
  EventSourcedAggregate,
  EventSourcingBuilder,
  InMemoryEventStore,
  type SnapshotProblem,
} from '@es/core';
import { recordStreamReads } from '@es/testing';
import { describe, expect, it } from '@jest/globals';
import { FrequencySnapshotStrategy } from './frequency-snapshot-strategy.js';
import { HybridSnapshotStrategy } from './hybrid-snapshot-strategy.js';
import { InMemorySnapshotStore } from './in-memory-snapshot-store.js';
import { JsonSnapshotSerializer } from './json-snapshot-serializer.js';
import { isSnapshotSerializationError } from './snapshot-serialization-error.js';

// The pieces of this package together with the core repository: a warehouse whose state holds a
// Map of Sets, Dates and bigints, snapshotted and restored through the JSON serializer.

type StockEvent =
  | DomainEvent<'Received', { sku: string; quantity: number; at: string }>
  | DomainEvent<'Reserved', { sku: string; order: string }>;

interface StockState {
  stock: Map<string, { quantity: bigint; reservedBy: Set<string>; lastReceived: Date }>;
  received: number;
}

class Warehouse extends EventSourcedAggregate<StockEvent> {
  state: StockState = { stock: new Map(), received: 0 };
  receive(sku: string, quantity: number, at: Date) {
    this.raiseEvent({ type: 'Received', data: { sku, quantity, at: at.toISOString() } });
  }
  reserve(sku: string, order: string) {
    this.raiseEvent({ type: 'Reserved', data: { sku, order } });
  }
  protected apply(event: StockEvent) {
    if (event.type === 'Received') {
      const item = this.state.stock.get(event.data.sku) ?? {
        quantity: 0n,
        reservedBy: new Set<string>(),
        lastReceived: new Date(0),
      };
      item.quantity += BigInt(event.data.quantity);
      item.lastReceived = new Date(event.data.at);
      this.state.stock.set(event.data.sku, item);
      this.state.received += 1;
    } else {
      this.state.stock.get(event.data.sku)?.reservedBy.add(event.data.order);
    }
  }
  createSnapshot(): StockState {
    return this.state;
  }
  restoreSnapshot(state: StockState) {
    this.state = state;
  }
}

type CountingEventStore = ReturnType<typeof countingStore>;
const countingStore = () => recordStreamReads(new InMemoryEventStore());

function build(events: CountingEventStore, snapshots: InMemorySnapshotStore, snapshotVersion = 1) {
  const problems: SnapshotProblem[] = [];
  const repository = new EventSourcingBuilder()
    .withEventStore(events)
    .withSnapshotStore(snapshots)
    .withSnapshotStrategy(new FrequencySnapshotStrategy(50))
    .withSnapshotSerializer(new JsonSnapshotSerializer())
    .withSnapshotVersion(snapshotVersion)
    .withSnapshotErrorHandler((problem) => problems.push(problem))
    .build((id) => new Warehouse(id));
  return { repository, problems };
}

async function fill(repository: ReturnType<typeof build>['repository'], id: string, saves: number) {
  const warehouse = new Warehouse(id);
  for (let i = 1; i <= saves; i++) {
    warehouse.receive(`sku-${i % 7}`, i, new Date(Date.UTC(2026, 0, 1) + i * 60_000));
    if (i % 3 === 0) warehouse.reserve(`sku-${i % 7}`, `order-${i}`);
    await repository.save(warehouse);
  }
  return warehouse;
}

describe('snapshots with the core repository', () => {
  it('restores Map, Set, Date and bigint state from a snapshot and reads only the later events', async () => {
    const events = countingStore();
    const snapshots = new InMemorySnapshotStore();
    const { repository, problems } = build(events, snapshots);
    const written = await fill(repository, 'w-1', 120); // 160 events
    expect((await snapshots.load('w-1'))?.aggregateVersion).toBe(150);

    events.reads.length = 0;
    const loaded = await repository.getById('w-1');
    expect(events.reads).toEqual([{ fromVersion: 150, returned: 10 }]);
    expect(loaded.version).toBe(160);
    expect(loaded.state).toEqual(written.state);
    expect(loaded.state.stock.get('sku-1')?.reservedBy).toBeInstanceOf(Set);
    expect(loaded.state.stock.get('sku-1')?.lastReceived).toBeInstanceOf(Date);
    expect(typeof loaded.state.stock.get('sku-1')?.quantity).toBe('bigint');
    expect(problems).toEqual([]);
  });

  it('after the state changes shape (snapshotVersion bumped), ignores old snapshots and replaces them', async () => {
    const events = countingStore();
    const snapshots = new InMemorySnapshotStore();
    const written = await fill(build(events, snapshots, 1).repository, 'w-2', 60); // 80 events
    expect((await snapshots.load('w-2'))?.snapshotVersion).toBe(1);

    const { repository, problems } = build(events, snapshots, 2);
    events.reads.length = 0;
    const loaded = await repository.getById('w-2');
    expect(events.reads).toEqual([{ fromVersion: 0, returned: 80 }]);
    expect(loaded.state).toEqual(written.state);
    loaded.reserve('sku-2', 'order-x');
    await repository.save(loaded); // 1 event since: the strategy alone would not snapshot
    expect(await snapshots.load('w-2')).toMatchObject({ aggregateVersion: 81, snapshotVersion: 2 });
    expect(problems).toEqual([]);
  });

  it('rebuilds from events when the stored snapshot is corrupted, reports it and replaces it', async () => {
    type Entry = [unknown, { quantity: unknown; lastReceived: unknown }];
    const corruptions: [string, (entries: Entry[]) => void][] = [
      ['a Map entry without its value', (entries) => entries[0]!.splice(1, 1)],
      ['a garbage Date', (entries) => (entries[0]![1].lastReceived = { $es: 'Date', v: 'garbage' })],
      ['a hex bigint', (entries) => (entries[0]![1].quantity = { $es: 'bigint', v: '0x10' })],
      ['a padded bigint', (entries) => (entries[0]![1].quantity = { $es: 'bigint', v: ' 7' })],
    ];
    for (const [index, [name, corrupt]] of corruptions.entries()) {
      const events = countingStore();
      const snapshots = new InMemorySnapshotStore();
      const { repository, problems } = build(events, snapshots);
      const id = `w-corrupt-${index}`;
      const written = await fill(repository, id, 60); // 80 events, a snapshot at 50
      const stored = (await snapshots.load(id))!;
      const state = structuredClone(stored.state) as { stock: { v: Entry[] } };
      corrupt(state.stock.v);
      await snapshots.save({ ...stored, state });

      events.reads.length = 0;
      const loaded = await repository.getById(id);
      expect({ name, reads: events.reads }).toEqual({ name, reads: [{ fromVersion: 0, returned: 80 }] });
      expect(loaded.state).toEqual(written.state);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ operation: 'restore', streamId: id });
      expect(isSnapshotSerializationError(problems[0]!.error)).toBe(true);
      expect((problems[0]!.error as Error).message).toMatch(/\$\.stock\[0\]/);

      loaded.reserve('sku-1', 'order-after'); // one event: the strategy alone would not snapshot
      await repository.save(loaded);
      expect((await snapshots.load(id))?.aggregateVersion).toBe(81);
      events.reads.length = 0;
      expect((await repository.getById(id)).state).toEqual(loaded.state);
      expect(events.reads).toEqual([{ fromVersion: 81, returned: 0 }]);
    }
  });

  it('works with the hybrid strategy in the background', async () => {
    const events = countingStore();
    const snapshots = new InMemorySnapshotStore();
    const repository = new EventSourcingBuilder()
      .withEventStore(events)
      .withSnapshotStore(snapshots)
      .withSnapshotStrategy(new HybridSnapshotStrategy(10, 60_000))
      .withSnapshotSerializer(new JsonSnapshotSerializer())
      .withBackgroundSnapshots()
      .build((id) => new Warehouse(id));
    await fill(repository, 'w-3', 25); // 33 events
    await repository.flushSnapshots();
    const snapshot = await snapshots.load('w-3');
    expect(snapshot?.aggregateVersion).toBeGreaterThanOrEqual(30);
    events.reads.length = 0;
    expect((await repository.getById('w-3')).version).toBe(33);
    expect(events.reads).toEqual([
      { fromVersion: snapshot?.aggregateVersion, returned: 33 - snapshot!.aggregateVersion },
    ]);
  });
});
