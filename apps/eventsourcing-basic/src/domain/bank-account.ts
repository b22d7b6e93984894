import { EventSourcedAggregate, type SnapshotCapable } from '@es/core';
import {
  AccountClosedError,
  AccountNotEmptyError,
  InsufficientFundsError,
  InvalidAmountError,
} from './account-errors.js';
import type { AccountEvent } from './account-events.js';

/** The account's state: what `apply` builds from events, and what a snapshot stores. */
export interface AccountState {
  readonly owner: string;
  readonly balance: number;
  readonly isOpen: boolean;
}

/**
 * The specification's bank account, in the class style. Command methods check the rules and
 * raise an event; `apply` is the only place the state changes, so replaying the events rebuilds
 * exactly the same account. Amounts are whole numbers (cents).
 *
 * @example
 * const account = BankAccount.open('acc-1', 'Ada');
 * account.deposit(100);
 * await accounts.save(account);
 */
export class BankAccount
  extends EventSourcedAggregate<AccountEvent>
  implements SnapshotCapable<AccountState>
{
  #state: AccountState = { owner: '', balance: 0, isOpen: false };

  /** Opens a new account: the first event of its stream. */
  static open(id: string, owner: string): BankAccount {
    const account = new BankAccount(id);
    account.raiseEvent({ type: 'AccountOpened', data: { owner } });
    return account;
  }

  get owner(): string {
    return this.#state.owner;
  }

  get balance(): number {
    return this.#state.balance;
  }

  get isOpen(): boolean {
    return this.#state.isOpen;
  }

  deposit(amount: number): void {
    this.#assertAmount(amount);
    this.#assertOpen();
    this.raiseEvent({ type: 'MoneyDeposited', data: { amount } });
  }

  /** Throws `InsufficientFundsError` when the balance does not cover `amount`. */
  withdraw(amount: number): void {
    this.#assertAmount(amount);
    this.#assertOpen();
    if (amount > this.#state.balance) throw new InsufficientFundsError(this.id, this.#state.balance, amount);
    this.raiseEvent({ type: 'MoneyWithdrawn', data: { amount } });
  }

  /** Closes an empty account; afterwards every command fails with `AccountClosedError`. */
  close(reason = 'closed by the owner'): void {
    this.#assertOpen();
    if (this.#state.balance !== 0) throw new AccountNotEmptyError(this.id, this.#state.balance);
    this.raiseEvent({ type: 'AccountClosed', data: { reason } });
  }

  protected apply(event: AccountEvent): void {
    const state = this.#state;
    switch (event.type) {
      case 'AccountOpened':
        this.#state = { owner: event.data.owner, balance: 0, isOpen: true };
        break;
      case 'MoneyDeposited':
        this.#state = { ...state, balance: state.balance + event.data.amount };
        break;
      case 'MoneyWithdrawn':
        this.#state = { ...state, balance: state.balance - event.data.amount };
        break;
      case 'AccountClosed':
        this.#state = { ...state, isOpen: false };
        break;
    }
  }

  createSnapshot(): AccountState {
    return this.#state;
  }

  restoreSnapshot(state: AccountState): void {
    this.#state = { owner: state.owner, balance: state.balance, isOpen: state.isOpen };
  }

  #assertOpen(): void {
    if (!this.#state.isOpen) throw new AccountClosedError(this.id);
  }

  #assertAmount(amount: number): void {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new InvalidAmountError(this.id, amount);
  }
}
