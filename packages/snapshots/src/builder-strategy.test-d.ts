// Type-level test, compiled by `tsc --noEmit` (the typecheck target), never run: the strategies of
// this package keep their aggregate type through @es/core's EventSourcingBuilder.
import {
  type DomainEvent,
  EventSourcedAggregate,
  type EventSourcedRepository,
  EventSourcingBuilder,
  InMemoryEventStore,
} from '@es/core';
import { FrequencySnapshotStrategy } from './frequency-snapshot-strategy.js';
import { InMemorySnapshotStore } from './in-memory-snapshot-store.js';
import { PredicateSnapshotStrategy } from './predicate-snapshot-strategy.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T) => undefined;

class Warehouse extends EventSourcedAggregate<DomainEvent<'Received', { sku: string }>> {
  skus = new Set<string>();
  protected apply(event: DomainEvent<'Received', { sku: string }>) {
    this.skus.add(event.data.sku);
  }
  // With a snapshot store, build() requires both snapshot methods (see core's builder.test-d.ts).
  createSnapshot() {
    return [...this.skus];
  }
  restoreSnapshot(state: string[]) {
    this.skus = new Set(state);
  }
}
class Account extends EventSourcedAggregate<DomainEvent<'Deposited', { amount: number }>> {
  balance = 0;
  protected apply(event: DomainEvent<'Deposited', { amount: number }>) {
    this.balance += event.data.amount;
  }
  createSnapshot() {
    return this.balance;
  }
  restoreSnapshot(state: number) {
    this.balance = state;
  }
}

const builder = () =>
  new EventSourcingBuilder()
    .withEventStore(new InMemoryEventStore())
    .withSnapshotStore(new InMemorySnapshotStore());
const bySkus = new PredicateSnapshotStrategy<Warehouse>(({ aggregate }) => aggregate.skus.size > 100);

const warehouses = builder()
  .withSnapshotStrategy(bySkus)
  .build((id) => new Warehouse(id));
expectType<Equal<typeof warehouses, EventSourcedRepository<Warehouse>>>(true);

const accounts = builder()
  .withSnapshotStrategy(new FrequencySnapshotStrategy(100))
  .build((id) => new Account(id));
expectType<Equal<typeof accounts, EventSourcedRepository<Account>>>(true);

builder()
  .withSnapshotStrategy(bySkus)
  // @ts-expect-error: a strategy written for Warehouse cannot decide for an Account
  .build((id) => new Account(id));
