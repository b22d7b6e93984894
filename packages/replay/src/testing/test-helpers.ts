import { randomUUID } from 'node:crypto';
import {
  type DomainEvent,
  type EventStore,
  ExpectedVersion,
  InMemoryEventStore,
  type NewEvent,
  type StoredEvent,
} from '@es/core';

export type AccountEvent =
  | DomainEvent<'Opened', { owner: string }>
  | DomainEvent<'Deposited', { amount: number }>
  | DomainEvent<'Withdrawn', { amount: number }>;

export const opened = (owner = 'Ada'): NewEvent<AccountEvent> => ({ type: 'Opened', data: { owner } });
export const deposited = (amount: number): NewEvent<AccountEvent> => ({
  type: 'Deposited',
  data: { amount },
});

/** Appends `streams` streams of `perStream` events each, interleaving appends across streams. */
export async function seed(store: EventStore, streams: number, perStream: number): Promise<string[]> {
  const ids = Array.from({ length: streams }, () => `account-${randomUUID()}`);
  for (let version = 0; version < perStream; version++) {
    for (const id of ids) {
      const event = version === 0 ? opened(id) : deposited(version);
      await store.appendEvents(id, version === 0 ? ExpectedVersion.NoStream : version, [event]);
    }
  }
  return ids;
}

/** The same store without live notifications: followers must poll. */
export function withoutNotifications(store: InMemoryEventStore): EventStore {
  return {
    capabilities: { ...store.capabilities, liveNotifications: false },
    appendEvents: (...args) => store.appendEvents(...args),
    getEvents: (...args) => store.getEvents(...args),
    getEventsByType: (...args) => store.getEventsByType(...args),
    getAllEvents: (...args) => store.getAllEvents(...args),
    getStreamVersion: (...args) => store.getStreamVersion(...args),
    streamExists: (...args) => store.streamExists(...args),
    close: () => store.close(),
  };
}

/**
 * An idempotent read model: balance and last applied version per stream. Applying an event twice
 * (at-least-once redelivery) leaves it unchanged.
 */
export class BalanceReadModel {
  readonly balances = new Map<string, { balance: number; version: number }>();
  applied = 0;

  apply(event: StoredEvent<AccountEvent>): void {
    const row = this.balances.get(event.streamId) ?? { balance: 0, version: 0 };
    if (event.version <= row.version) return;
    if (event.version !== row.version + 1) {
      throw new Error(`gap in ${event.streamId}: at ${row.version}, got ${event.version}`);
    }
    const delta = event.type === 'Deposited' ? event.data.amount : 0;
    this.balances.set(event.streamId, { balance: row.balance + delta, version: event.version });
    this.applied++;
  }

  snapshot(): Record<string, { balance: number; version: number }> {
    return Object.fromEntries([...this.balances.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export const positionsOf = (events: readonly StoredEvent[]): bigint[] => events.map((e) => e.position);

export async function readAllEvents(store: EventStore): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for await (const event of store.getAllEvents()) all.push(event);
  return all;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export { InMemoryEventStore };
