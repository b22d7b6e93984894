import { type EventOf, EventRegistry, typed } from '@es/core';

/**
 * Every event a bank account records, registered once. The store is given this registry, so it
 * refuses unknown event types on append and hands back typed data on read.
 */
export const accountEvents = new EventRegistry()
  .register('AccountOpened', typed<{ owner: string }>())
  .register('MoneyDeposited', typed<{ amount: number }>())
  .register('MoneyWithdrawn', typed<{ amount: number }>())
  .register('AccountClosed', typed<{ reason: string }>());

/** The union of account events: `switch (event.type)` narrows `event.data`. */
export type AccountEvent = EventOf<typeof accountEvents>;

/** Stream ids are `account-<id>`: the repository adds the prefix, projections strip it. */
export const ACCOUNT_STREAM_PREFIX = 'account-';
