// The specification's quick-start BankAccount, written with @es/core. Used by the core tests.
import { EventSourcedAggregate } from '../aggregate.js';
import type { DomainEvent } from '../events.js';
import type { SnapshotCapable } from '../snapshot.js';

export type BankAccountEvent =
  | DomainEvent<'account.opened', { accountNumber: string; ownerName: string }>
  | DomainEvent<'account.deposited', { amount: number }>
  | DomainEvent<'account.withdrawn', { amount: number }>;

export interface BankAccountState {
  accountNumber: string;
  ownerName: string;
  balance: number;
  isActive: boolean;
}

export class InsufficientFundsError extends Error {}

export class BankAccount
  extends EventSourcedAggregate<BankAccountEvent>
  implements SnapshotCapable<BankAccountState>
{
  #state: BankAccountState = { accountNumber: '', ownerName: '', balance: 0, isActive: false };

  static open(accountNumber: string, ownerName: string): BankAccount {
    const account = new BankAccount(accountNumber);
    account.raiseEvent({ type: 'account.opened', data: { accountNumber, ownerName } });
    return account;
  }

  get balance(): number {
    return this.#state.balance;
  }

  deposit(amount: number): void {
    if (!this.#state.isActive) throw new Error('account is closed');
    this.raiseEvent({ type: 'account.deposited', data: { amount } });
  }

  withdraw(amount: number): void {
    if (!this.#state.isActive) throw new Error('account is closed');
    if (this.#state.balance < amount) throw new InsufficientFundsError('insufficient funds');
    this.raiseEvent({ type: 'account.withdrawn', data: { amount } });
  }

  protected apply(event: BankAccountEvent): void {
    switch (event.type) {
      case 'account.opened':
        this.#state = { ...event.data, balance: 0, isActive: true };
        break;
      case 'account.deposited':
        this.#state.balance += event.data.amount;
        break;
      case 'account.withdrawn':
        this.#state.balance -= event.data.amount;
        break;
    }
  }

  createSnapshot(): BankAccountState {
    return { ...this.#state };
  }

  restoreSnapshot(state: BankAccountState): void {
    this.#state = { ...state };
  }
}
