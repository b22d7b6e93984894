// What a user relies on after a database moves to another cluster, checked the same way for every
// kind of move (cluster-move.int.test.ts on servers, cluster-move.test.ts on PGlite).
import { ExpectedVersion, type StoredEvent } from '@es/core';
import { expect } from '@jest/globals';
import type { PostgresConnection } from '../src/connection/connection.js';
import { PostgresEventStore } from '../src/events/postgres-event-store.js';
import { migrate } from '../src/schema/migrate.js';

export const SCHEMA = 'ledger';

export async function readAll(store: PostgresEventStore, from = 0n): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of store.getAllEvents(from, { batchSize: 3 })) events.push(event);
  return events;
}

export const summary = (event: StoredEvent) => ({
  eventId: event.eventId,
  streamId: event.streamId,
  version: event.version,
  position: event.position,
  type: event.type,
  data: event.data,
});

/** The history every test writes on the source cluster before the move. */
export async function writeHistory(
  connection: PostgresConnection,
): Promise<{ before: StoredEvent[]; checkpoint: bigint }> {
  await migrate({ connection, schema: SCHEMA });
  const store = new PostgresEventStore({ connection, schema: SCHEMA });
  try {
    await store.appendEvents('account-a', ExpectedVersion.NoStream, [
      { type: 'Opened', data: { owner: 'Ada' } },
      { type: 'Deposited', data: { amount: 10 } },
    ]);
    await store.appendEvents('account-b', ExpectedVersion.NoStream, [
      { type: 'Opened', data: { owner: 'Bo' } },
    ]);
    await store.appendEvents('account-a', 2, [{ type: 'Deposited', data: { amount: 5 } }]);
    await store.appendEvents('account-b', ExpectedVersion.Any, [{ type: 'Deposited', data: { amount: 7 } }]);
    const before = await readAll(store);
    expect(before).toHaveLength(5);
    // A follower handled everything so far and stored its checkpoint.
    return { before, checkpoint: before[before.length - 1]!.position };
  } finally {
    await store.close();
  }
}

/** What must hold on the target cluster after the move; returns the events appended there. */
export async function expectLogContinues(
  connection: PostgresConnection,
  before: readonly StoredEvent[],
  checkpoint: bigint,
): Promise<void> {
  const store = new PostgresEventStore({ connection, schema: SCHEMA });
  try {
    // Every restored event is readable, in the same order, with the same positions.
    expect((await readAll(store)).map(summary)).toEqual(before.map(summary));
    // A follower with nothing new to read stays where it is.
    expect(await readAll(store, checkpoint)).toEqual([]);

    // New appends: an exact version (the one-statement path), a new stream, and racers that all
    // arrive before this cluster has written anything (they open its era together).
    const racers = Array.from({ length: 6 }, (_, i) =>
      store.appendEvents(`racer-${i}`, ExpectedVersion.NoStream, [
        { type: 'Opened', data: { owner: `r${i}` } },
      ]),
    );
    const exact = store.appendEvents('account-a', 3, [{ type: 'Withdrawn', data: { amount: 1 } }]);
    const any = store.appendEvents('account-c', ExpectedVersion.Any, [
      { type: 'Opened', data: { owner: 'Cy' } },
      { type: 'Deposited', data: { amount: 3 } },
    ]);
    await Promise.all([...racers, exact, any]);
    expect((await store.getEvents('account-a')).map((event) => event.version)).toEqual([1, 2, 3, 4]);

    const after = await readAll(store);
    expect(after).toHaveLength(before.length + 9);
    const oldest = before[before.length - 1]!.position;
    const added = after.slice(before.length);
    // Every new event sorts after every old one, and the log stays strictly increasing.
    for (const event of added) expect(event.position > oldest).toBe(true);
    for (let i = 1; i < after.length; i++) expect(after[i]!.position > after[i - 1]!.position).toBe(true);
    expect(after.slice(0, before.length).map(summary)).toEqual(before.map(summary));

    // The follower resumes from its checkpoint of before the move: each new event once, nothing old.
    const resumed = await readAll(store, checkpoint);
    expect(resumed.map((event) => event.eventId)).toEqual(added.map((event) => event.eventId));
    expect(new Set(resumed.map((event) => event.eventId)).size).toBe(9);

    // And it keeps following: one more append, read from where it stopped.
    const last = resumed[resumed.length - 1]!.position;
    await store.appendEvents('account-b', ExpectedVersion.StreamExists, [
      { type: 'Deposited', data: { amount: 1 } },
    ]);
    const next = await readAll(store, last);
    expect(next.map((event) => event.type)).toEqual(['Deposited']);
    expect(next[0]!.position > last).toBe(true);
  } finally {
    await store.close();
  }
}
