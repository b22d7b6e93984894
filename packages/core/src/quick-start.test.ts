import { describe, expect, it } from '@jest/globals';
import { EventSourcingBuilder } from './builder.js';
import { AggregateNotFoundError, ConcurrencyConflictError } from './errors.js';
import { InMemoryEventStore } from './in-memory-event-store.js';
import { EventSourcedRepository } from './repository.js';
import { retryOnConcurrencyConflict } from './retry.js';
import { BankAccount, InsufficientFundsError } from './testing/bank-account.js';

// The specification's quick start, end to end, on the in-memory store.
describe('quick start: BankAccount through the repository', () => {
  const setup = () => {
    const eventStore = new InMemoryEventStore();
    const repository = new EventSourcingBuilder()
      .withEventStore(eventStore)
      .build((id) => new BankAccount(id));
    return { eventStore, repository };
  };

  it('opens, deposits and withdraws, and loads the account back from its events', async () => {
    const { eventStore, repository } = setup();
    const account = BankAccount.open('ACC001', 'John Doe');
    account.deposit(1000);
    await repository.save(account);
    expect(account.version).toBe(2);
    expect(account.getUncommittedEvents()).toEqual([]);

    const loaded = await repository.getById('ACC001');
    loaded.withdraw(300);
    await repository.save(loaded);

    const reloaded = await repository.getById('ACC001');
    expect(reloaded.balance).toBe(700);
    expect(reloaded.version).toBe(3);
    expect(await repository.getVersion('ACC001')).toBe(3);
    expect(await repository.exists('ACC001')).toBe(true);
    const types = (await eventStore.getEvents('ACC001')).map((e) => e.type);
    expect(types).toEqual(['account.opened', 'account.deposited', 'account.withdrawn']);
  });

  it('refuses a withdrawal beyond the balance without raising an event', async () => {
    const { repository } = setup();
    await repository.save(BankAccount.open('ACC002', 'Ada'));
    const account = await repository.getById('ACC002');
    expect(() => account.withdraw(1)).toThrow(InsufficientFundsError);
    expect(account.getUncommittedEvents()).toEqual([]);
  });

  it('throws AggregateNotFoundError for an unknown account', async () => {
    const { repository } = setup();
    await expect(repository.getById('missing')).rejects.toBeInstanceOf(AggregateNotFoundError);
    expect(await repository.find('missing')).toBeUndefined();
    expect(await repository.exists('missing')).toBe(false);
  });

  it('detects a concurrent update and resolves it by reloading and retrying', async () => {
    const { repository } = setup();
    await repository.save(BankAccount.open('ACC003', 'Grace'));
    const first = await repository.getById('ACC003');
    const second = await repository.getById('ACC003');
    first.deposit(100);
    second.deposit(50);
    await repository.save(first);
    await expect(repository.save(second)).rejects.toBeInstanceOf(ConcurrencyConflictError);

    let attempts = 0;
    await retryOnConcurrencyConflict(async () => {
      attempts++;
      const account = attempts === 1 ? second : await repository.getById('ACC003');
      if (attempts > 1) account.deposit(50);
      await repository.save(account);
    });
    expect(attempts).toBe(2);
    expect((await repository.getById('ACC003')).balance).toBe(150);
  });

  it('update() retries the load-change-save cycle for racing writers', async () => {
    const { repository } = setup();
    await repository.save(BankAccount.open('ACC004', 'Linus'));
    await Promise.all(
      Array.from({ length: 10 }, () =>
        repository.update('ACC004', (account) => account.deposit(10), {
          maxRetries: 50,
          backoff: { initialDelayMs: 0 },
        }),
      ),
    );
    const account = await repository.getById('ACC004');
    expect(account.balance).toBe(100);
    expect(account.version).toBe(11);
  });

  it('a save retried after a lost reply writes nothing twice', async () => {
    const { eventStore } = setup();
    const repository = new EventSourcedRepository({ eventStore, factory: (id) => new BankAccount(id) });
    const account = BankAccount.open('ACC005', 'Barbara');
    account.deposit(5);
    const pending = account.getUncommittedEvents();
    // The first attempt's reply is "lost": the events are stored but the aggregate is not told.
    await eventStore.appendEvents('ACC005', 0, pending);
    await repository.save(account);
    expect((await eventStore.getEvents('ACC005')).map((e) => e.version)).toEqual([1, 2]);
    expect(account.version).toBe(2);
  });

  it('stamps save-time metadata on every event, keeping per-event metadata', async () => {
    const { eventStore, repository } = setup();
    const account = BankAccount.open('ACC006', 'Edsger');
    await repository.save(account, { metadata: { correlationId: 'req-1', userId: 'u-1' } });
    const [event] = await eventStore.getEvents('ACC006');
    expect(event!.metadata).toEqual({ correlationId: 'req-1', userId: 'u-1' });
  });
});
