import type { StoredEvent } from '@es/core';
import { ACCOUNT_STREAM_PREFIX, type AccountEvent } from './domain/account-events.js';

/** One row of the balances read model. */
export interface BalanceRow {
  readonly accountId: string;
  readonly owner: string;
  readonly balance: number;
  readonly isOpen: boolean;
  /** How many events of the account the view has seen. */
  readonly events: number;
}

/**
 * A read model of every account's balance, built only from events: the projection. It knows
 * nothing of the aggregate class, so it can be thrown away and rebuilt by replaying the log.
 */
export class BalancesView {
  readonly #rows = new Map<string, BalanceRow>();

  /** Folds one event into the view. Events of other streams are ignored. */
  handle(event: StoredEvent<AccountEvent>): void {
    if (!event.streamId.startsWith(ACCOUNT_STREAM_PREFIX)) return;
    const accountId = event.streamId.slice(ACCOUNT_STREAM_PREFIX.length);
    const row = this.#rows.get(accountId) ?? { accountId, owner: '', balance: 0, isOpen: false, events: 0 };
    this.#rows.set(accountId, { ...evolve(row, event), events: row.events + 1 });
  }

  /** The rows, sorted by account id. */
  rows(): BalanceRow[] {
    return [...this.#rows.values()].sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  /** The money held in all accounts together. */
  total(): number {
    return this.rows().reduce((sum, row) => sum + row.balance, 0);
  }
}

function evolve(row: BalanceRow, event: AccountEvent): BalanceRow {
  switch (event.type) {
    case 'AccountOpened':
      return { ...row, owner: event.data.owner, isOpen: true };
    case 'MoneyDeposited':
      return { ...row, balance: row.balance + event.data.amount };
    case 'MoneyWithdrawn':
      return { ...row, balance: row.balance - event.data.amount };
    case 'AccountClosed':
      return { ...row, isOpen: false };
  }
}
