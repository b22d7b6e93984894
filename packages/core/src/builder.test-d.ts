// Type-level tests of EventSourcingBuilder: compiled by `tsc --noEmit` (the typecheck target),
// never run. A strategy written for one aggregate type cannot be built into a repository of another.

import { EventSourcedAggregate } from './aggregate.js';
import { EventSourcingBuilder } from './builder.js';
import type { DomainEvent } from './events.js';
import { InMemoryEventStore } from './in-memory-event-store.js';
import type { EventSourcedRepository } from './repository.js';
import type { Snapshot, SnapshotDecision, SnapshotStore, SnapshotStrategy } from './snapshot.js';
import { BankAccount } from './testing/bank-account.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T) => undefined;

type StockEvent = DomainEvent<'Received', { sku: string; quantity: number }>;

class Warehouse extends EventSourcedAggregate<StockEvent> {
  stock = new Map<string, number>();
  protected apply(event: StockEvent) {
    this.stock.set(event.data.sku, (this.stock.get(event.data.sku) ?? 0) + event.data.quantity);
  }
  createSnapshot() {
    return [...this.stock];
  }
  restoreSnapshot(state: [string, number][]) {
    this.stock = new Map(state);
  }
}

// A strategy that reads aggregate-specific fields, like PredicateSnapshotStrategy<Warehouse>.
const warehouseStrategy: SnapshotStrategy<Warehouse> = {
  shouldSnapshot: (decision: SnapshotDecision<Warehouse>) => decision.aggregate.stock.size > 10,
};
const anyAggregateStrategy: SnapshotStrategy<unknown> = {
  shouldSnapshot: (decision) => decision.eventsSinceSnapshot >= 100,
};
const snapshotStore: SnapshotStore = {
  save: async (_snapshot: Snapshot) => undefined,
  load: async () => undefined,
  delete: async () => undefined,
};
const eventStore = new InMemoryEventStore();
const base = () => new EventSourcingBuilder().withEventStore(eventStore).withSnapshotStore(snapshotStore);

// The matching aggregate type builds, and the repository is typed by the factory.
const warehouses = base()
  .withSnapshotStrategy(warehouseStrategy)
  .withSnapshotVersion(2)
  .build((id) => new Warehouse(id));
expectType<Equal<typeof warehouses, EventSourcedRepository<Warehouse>>>(true);

// A strategy for any aggregate (FrequencySnapshotStrategy and friends) builds with every factory.
const accounts = base()
  .withSnapshotStrategy(anyAggregateStrategy)
  .build((id) => new BankAccount(id));
expectType<Equal<typeof accounts, EventSourcedRepository<BankAccount>>>(true);

// Without a strategy (snapshots off) any factory builds.
const plain = new EventSourcingBuilder().withEventStore(eventStore).build((id) => new BankAccount(id));
expectType<Equal<typeof plain, EventSourcedRepository<BankAccount>>>(true);

// A strategy for Warehouse does not build a repository of BankAccount, whatever comes in between.
base()
  .withSnapshotStrategy(warehouseStrategy)
  .withSnapshotsEnabled(true)
  .withStreamPrefix('account-')
  // @ts-expect-error: the strategy reads Warehouse fields; a BankAccount has none
  .build((id) => new BankAccount(id));

// Nor when the strategy is set after the other options.
new EventSourcingBuilder()
  .withSnapshotStore(snapshotStore)
  .withSnapshotStrategy(warehouseStrategy)
  .withEventStore(eventStore)
  // @ts-expect-error: the strategy reads Warehouse fields; a BankAccount has none
  .build((id) => new BankAccount(id));

// An aggregate without createSnapshot/restoreSnapshot, with snapshots on, would never be snapshotted.
class Counter extends EventSourcedAggregate<StockEvent> {
  count = 0;
  protected apply() {
    this.count++;
  }
}

// A snapshot store turns snapshots on: such an aggregate does not build, strategy or not.
base()
  .withSnapshotStrategy(anyAggregateStrategy)
  // @ts-expect-error: snapshots are on, and Counter cannot be snapshotted
  .build((id) => new Counter(id));
new EventSourcingBuilder()
  .withEventStore(eventStore)
  .withSnapshotsEnabled(true)
  .withSnapshotStore(snapshotStore)
  .withSnapshotStrategy(anyAggregateStrategy)
  // @ts-expect-error: snapshots are on, and Counter cannot be snapshotted
  .build((id) => new Counter(id));

// Turned off, before or after the store is set, it builds.
const counters = base()
  .withSnapshotsEnabled(false)
  .build((id) => new Counter(id));
expectType<Equal<typeof counters, EventSourcedRepository<Counter>>>(true);
new EventSourcingBuilder()
  .withSnapshotsEnabled(false)
  .withSnapshotStore(snapshotStore)
  .withEventStore(eventStore)
  .build((id) => new Counter(id));
// And without a snapshot store.
new EventSourcingBuilder().withEventStore(eventStore).build((id) => new Counter(id));
