import {
  type EventSourcedRepository,
  EventSourcingBuilder,
  type EventStore,
  isConcurrencyConflictError,
  type RetryOptions,
  type SnapshotStore,
  type StoredEvent,
} from '@es/core';
import { FrequencySnapshotStrategy } from '@es/snapshots';
import { AccountAlreadyExistsError } from './domain/account-errors.js';
import { ACCOUNT_STREAM_PREFIX, type AccountEvent } from './domain/account-events.js';
import { BankAccount } from './domain/bank-account.js';

/** The repository of bank accounts. */
export type AccountRepository = EventSourcedRepository<BankAccount>;

export interface AccountRepositoryOptions {
  readonly eventStore: EventStore;
  readonly snapshots: SnapshotStore;
  /** Take a snapshot every this many events. Defaults to 5, so the demo shows one quickly. */
  readonly snapshotEvery?: number;
}

/**
 * Builds the accounts repository as the specification does: event store, snapshot store, a
 * snapshot every N events, and the `account-` stream prefix.
 */
export function createAccountRepository(options: AccountRepositoryOptions): AccountRepository {
  return new EventSourcingBuilder()
    .withEventStore(options.eventStore)
    .withSnapshotStore(options.snapshots)
    .withSnapshotStrategy(new FrequencySnapshotStrategy(options.snapshotEvery ?? 5))
    .withSnapshotsEnabled(true)
    .withStreamPrefix(ACCOUNT_STREAM_PREFIX)
    .build((id) => new BankAccount(id));
}

/**
 * Opens a new account. A new aggregate is saved expecting no stream, so if the id is taken the
 * store refuses the append, and that conflict becomes the domain's `AccountAlreadyExistsError`.
 */
export async function openAccount(
  accounts: AccountRepository,
  id: string,
  owner: string,
): Promise<BankAccount> {
  const account = BankAccount.open(id, owner);
  try {
    await accounts.save(account);
  } catch (error) {
    if (isConcurrencyConflictError(error)) throw new AccountAlreadyExistsError(id);
    throw error;
  }
  return account;
}

/** Retries for commands: reload and run again when another writer got there first. */
export const commandRetry: RetryOptions = { maxRetries: 5, backoff: { initialDelayMs: 5 } };

/** Deposits into an existing account, retrying on a concurrent update. */
export function deposit(accounts: AccountRepository, id: string, amount: number): Promise<BankAccount> {
  return accounts.update(id, (account) => account.deposit(amount), commandRetry);
}

/** Withdraws from an existing account, retrying on a concurrent update. */
export function withdraw(accounts: AccountRepository, id: string, amount: number): Promise<BankAccount> {
  return accounts.update(id, (account) => account.withdraw(amount), commandRetry);
}

/** Closes an empty account. */
export function closeAccount(accounts: AccountRepository, id: string, reason?: string): Promise<BankAccount> {
  return accounts.update(id, (account) => account.close(reason), commandRetry);
}

/** The account's events, oldest first: its full history as stored. */
export function accountHistory(eventStore: EventStore, id: string): Promise<StoredEvent<AccountEvent>[]> {
  return eventStore.getEvents<AccountEvent>(ACCOUNT_STREAM_PREFIX + id);
}
