import { aggregateFixture } from '@es/testing';
import { describe, expect, it } from '@jest/globals';
import {
  AccountClosedError,
  AccountNotEmptyError,
  InsufficientFundsError,
  InvalidAmountError,
  isBankError,
} from './account-errors.js';
import type { AccountEvent } from './account-events.js';
import { BankAccount } from './bank-account.js';

const account = aggregateFixture((id) => new BankAccount(id), 'acc-1');
const opened: AccountEvent = { type: 'AccountOpened', data: { owner: 'Ada' } };
const deposited = (amount: number): AccountEvent => ({ type: 'MoneyDeposited', data: { amount } });
const closed: AccountEvent = { type: 'AccountClosed', data: { reason: 'moving abroad' } };

describe('BankAccount', () => {
  it('opens with a zero balance', () => {
    const fresh = BankAccount.open('acc-1', 'Ada');
    expect(fresh.getUncommittedEvents().map((e) => e.type)).toEqual(['AccountOpened']);
    expect({ owner: fresh.owner, balance: fresh.balance, isOpen: fresh.isOpen }).toEqual({
      owner: 'Ada',
      balance: 0,
      isOpen: true,
    });
  });

  it('records a deposit', async () => {
    await account
      .given(opened)
      .when((a) => a.deposit(100))
      .thenEvents([deposited(100)]);
  });

  it('records a withdrawal the balance covers and lowers the balance', async () => {
    await account
      .given(opened, deposited(100))
      .when((a) => a.withdraw(30))
      .thenState((a) => expect(a.balance).toBe(70));
  });

  it('refuses a withdrawal larger than the balance with InsufficientFundsError', async () => {
    await account
      .given(opened, deposited(50))
      .when((a) => a.withdraw(80))
      .thenThrows(InsufficientFundsError);
  });

  it('reports the balance and the requested amount in the error', () => {
    const loaded = new BankAccount('acc-1');
    loaded.loadFromHistory([opened, deposited(50)]);
    const error = captureError(() => loaded.withdraw(80));
    expect(error).toMatchObject({ code: 'BANK_INSUFFICIENT_FUNDS', balance: 50, requested: 80 });
    expect(isBankError(error)).toBe(true);
  });

  it('refuses deposits and withdrawals on a closed account', async () => {
    await account
      .given(opened, closed)
      .when((a) => a.deposit(10))
      .thenThrows(AccountClosedError);
    await account
      .given(opened, closed)
      .when((a) => a.withdraw(10))
      .thenThrows(AccountClosedError);
  });

  it('closes an empty account, and only an empty one', async () => {
    await account
      .given(opened)
      .when((a) => a.close('moving abroad'))
      .thenEvents([closed]);
    await account
      .given(opened, deposited(5))
      .when((a) => a.close())
      .thenThrows(AccountNotEmptyError);
  });

  it.each([0, -5, 1.5, Number.NaN])('refuses the amount %p', async (amount) => {
    await account
      .given(opened)
      .when((a) => a.deposit(amount))
      .thenThrows(InvalidAmountError);
  });

  it('restores the same state from a snapshot as from its events', () => {
    const replayed = new BankAccount('acc-1');
    replayed.loadFromHistory([opened, deposited(100), deposited(20)]);
    const restored = new BankAccount('acc-1');
    restored.restoreSnapshot(JSON.parse(JSON.stringify(replayed.createSnapshot())));
    expect(restored.createSnapshot()).toEqual(replayed.createSnapshot());
  });
});

function captureError(action: () => void): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}
