import { describe, expect, it } from '@jest/globals';
import { type Decider, DeciderAggregate, deciderFactory } from './decider.js';
import { InvalidArgumentError } from './errors.js';
import type { DomainEvent } from './events.js';
import { InMemoryEventStore } from './in-memory-event-store.js';
import { EventSourcedRepository } from './repository.js';
import { BankAccount } from './testing/bank-account.js';

describe('EventSourcedAggregate', () => {
  it('applies raised events at once and keeps them until committed', () => {
    const account = BankAccount.open('a-1', 'Ada');
    account.deposit(10);
    expect(account.balance).toBe(10);
    expect(account.version).toBe(0);
    const pending = account.getUncommittedEvents();
    expect(pending.map((e) => e.type)).toEqual(['account.opened', 'account.deposited']);
    expect(new Set(pending.map((e) => e.eventId)).size).toBe(2);
    account.markEventsAsCommitted();
    expect(account.version).toBe(2);
    expect(account.getUncommittedEvents()).toEqual([]);
  });

  it('refuses history with a gap or out of order', () => {
    const account = new BankAccount('a-2');
    const opened = { type: 'account.opened' as const, data: { accountNumber: 'a-2', ownerName: 'A' } };
    const deposit = { type: 'account.deposited' as const, data: { amount: 1 } };
    expect(() =>
      account.loadFromHistory([
        { ...opened, version: 1 },
        { ...deposit, version: 3 },
      ]),
    ).toThrow(InvalidArgumentError);
  });

  it('refuses an empty or non-string id', () => {
    expect(() => new BankAccount('')).toThrow(InvalidArgumentError);
    expect(() => new BankAccount(42 as unknown as string)).toThrow(InvalidArgumentError);
  });
});

type CounterEvent = DomainEvent<'Added', { by: number }> | DomainEvent<'Reset', Record<string, never>>;
type CounterCommand = { type: 'Add'; by: number } | { type: 'Reset' };
const counter: Decider<{ total: number }, CounterCommand, CounterEvent> = {
  initialState: () => ({ total: 0 }),
  decide: (command, state) => {
    if (command.type === 'Reset') return state.total === 0 ? [] : { type: 'Reset', data: {} };
    if (command.by <= 0) throw new Error('must add a positive amount');
    return [{ type: 'Added', data: { by: command.by } }];
  },
  evolve: (state, event) => (event.type === 'Added' ? { total: state.total + event.data.by } : { total: 0 }),
};

describe('DeciderAggregate', () => {
  it('decides, evolves and saves through the same repository as classes', async () => {
    const repository = new EventSourcedRepository({
      eventStore: new InMemoryEventStore(),
      factory: deciderFactory(counter),
    });
    const fresh = new DeciderAggregate('c-1', counter);
    fresh.execute({ type: 'Add', by: 2 });
    fresh.execute({ type: 'Add', by: 3 });
    await repository.save(fresh);
    const loaded = await repository.getById('c-1');
    expect(loaded.state).toEqual({ total: 5 });
    expect(loaded.execute({ type: 'Reset' })).toHaveLength(1);
    expect(loaded.state).toEqual({ total: 0 });
    expect(loaded.execute({ type: 'Reset' })).toEqual([]);
    await repository.save(loaded);
    expect(await repository.getVersion('c-1')).toBe(3);
  });

  it('raises nothing when decide throws', () => {
    const aggregate = new DeciderAggregate('c-2', counter);
    expect(() => aggregate.execute({ type: 'Add', by: -1 })).toThrow('positive');
    expect(aggregate.getUncommittedEvents()).toEqual([]);
  });
});
