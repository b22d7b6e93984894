// Type-level tests: compiled by `tsc --noEmit` (the typecheck target), never run. A broken
// inference makes the typecheck fail.

import type { EventOfAggregate } from './aggregate.js';
import { type Decider, deciderFactory } from './decider.js';
import { type EventOf, EventRegistry, typed } from './event-registry.js';
import type { DomainEvent, StoredEvent } from './events.js';
import { InMemoryEventStore } from './in-memory-event-store.js';
import { EventSourcedRepository } from './repository.js';
import { BankAccount, type BankAccountEvent } from './testing/bank-account.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T) => undefined;

// The event union of a class aggregate is inferred from its base class.
expectType<Equal<EventOfAggregate<BankAccount>, BankAccountEvent>>(true);

// A repository infers its aggregate type from the factory.
const eventStore = new InMemoryEventStore();
const accounts = new EventSourcedRepository({ eventStore, factory: (id) => new BankAccount(id) });
async function repositoryInference() {
  const account = await accounts.getById('a');
  expectType<Equal<typeof account, BankAccount>>(true);
  // @ts-expect-error: a repository of BankAccount does not save another aggregate type
  await accounts.save({ id: 'x' });
}

// Stored events distribute over the union: narrowing on type narrows data.
function narrowing(event: StoredEvent<BankAccountEvent>) {
  if (event.type === 'account.deposited') expectType<Equal<typeof event.data, { amount: number }>>(true);
  // @ts-expect-error: 'amount' does not exist on the opened event's data
  if (event.type === 'account.opened') return event.data.amount;
  return undefined;
}

// Deciders: state, command and event types flow through the factory into the repository.
type Added = DomainEvent<'Added', { by: number }>;
const counter: Decider<number, { by: number }, Added> = {
  initialState: () => 0,
  decide: (command) => ({ type: 'Added', data: { by: command.by } }),
  evolve: (state, event) => state + event.data.by,
};
const counters = new EventSourcedRepository({ eventStore, factory: deciderFactory(counter) });
async function deciderInference() {
  const aggregate = await counters.getById('c');
  expectType<Equal<typeof aggregate.state, number>>(true);
  expectType<Equal<EventOfAggregate<typeof aggregate>, Added>>(true);
  // @ts-expect-error: the command type is checked
  aggregate.execute({ by: 'two' });
}

// A registry's event union is built from its registrations.
const registry = new EventRegistry()
  .register('A', typed<{ a: number }>())
  .register('B', typed<{ b: string }>());
expectType<
  Equal<EventOf<typeof registry>, DomainEvent<'A', { a: number }> | DomainEvent<'B', { b: string }>>
>(true);

// Reads are typed by the event union the caller names.
async function storeReads() {
  const events = await eventStore.getEvents<BankAccountEvent>('a');
  expectType<Equal<(typeof events)[number], StoredEvent<BankAccountEvent>>>(true);
  const wrongAmount = { type: 'account.deposited' as const, data: { amount: '1' } };
  // @ts-expect-error: appends are checked against the named union
  await eventStore.appendEvents<BankAccountEvent>('a', 0, [wrongAmount]);
}

export { deciderInference, narrowing, repositoryInference, storeReads };
