import { describe, expect, it } from '@jest/globals';
import {
  composeProjections,
  type DcbDecider,
  decide,
  type EventProjection,
  executeDcbDecider,
  scanEventQuery,
} from './dcb.js';
import { isAppendConditionFailedError, isInvalidArgumentError } from './errors.js';
import { EventQuery } from './event-query.js';
import type { EventStore } from './event-store.js';
import type { DomainEvent, NewEvent } from './events.js';
import { InMemoryEventStore } from './in-memory-event-store.js';

// Fast, many retries: the tests race many deciders on one boundary.
const RACING = { maxRetries: 100, backoff: { initialDelayMs: 1, maxDelayMs: 5 } };

class DomainError extends Error {}

async function outcomes<T>(calls: readonly (() => Promise<T>)[]) {
  const settled = await Promise.allSettled(calls.map((call) => call()));
  const won = settled.filter((s) => s.status === 'fulfilled').length;
  const refused = settled.filter((s) => s.status === 'rejected' && s.reason instanceof DomainError).length;
  const other = settled.flatMap((s) =>
    s.status === 'rejected' && !(s.reason instanceof DomainError) ? [s.reason] : [],
  );
  return { won, refused, other };
}

describe('course subscriptions with a capacity', () => {
  type CourseEvent =
    | DomainEvent<'CourseDefined', { courseId: string; capacity: number }>
    | DomainEvent<'StudentSubscribed', { courseId: string; studentId: string }>;

  const courseCapacity = (courseId: string): EventProjection<number | undefined, CourseEvent> => ({
    query: EventQuery.of({ eventTypes: ['CourseDefined'], tags: [`course:${courseId}`] }),
    initialState: () => undefined,
    evolve: (capacity, event) => (event.type === 'CourseDefined' ? event.data.capacity : capacity),
  });
  const subscriptions = (tag: string): EventProjection<number, CourseEvent> => ({
    query: EventQuery.of({ eventTypes: ['StudentSubscribed'], tags: [tag] }),
    initialState: () => 0,
    evolve: (count) => count + 1,
  });

  const subscribe = (store: EventStore, courseId: string, studentId: string) =>
    decide(
      store,
      composeProjections({
        capacity: courseCapacity(courseId),
        courseSubscriptions: subscriptions(`course:${courseId}`),
        studentSubscriptions: subscriptions(`student:${studentId}`),
      }),
      (state): NewEvent<CourseEvent> => {
        if (state.capacity === undefined) throw new DomainError(`course ${courseId} does not exist`);
        if (state.courseSubscriptions >= state.capacity) throw new DomainError(`course ${courseId} is full`);
        if (state.studentSubscriptions >= 3)
          throw new DomainError(`student ${studentId} has 3 courses already`);
        return {
          type: 'StudentSubscribed',
          data: { courseId, studentId },
          tags: [`course:${courseId}`, `student:${studentId}`],
        };
      },
      RACING,
    );

  const define = (store: EventStore, courseId: string, capacity: number) =>
    decide(store, courseCapacity(courseId), (existing): NewEvent<CourseEvent> => {
      if (existing !== undefined) throw new DomainError('defined already');
      return { type: 'CourseDefined', data: { courseId, capacity }, tags: [`course:${courseId}`] };
    });

  it('of 20 concurrent subscribers to a course of 5 seats, exactly 5 get in', async () => {
    const store = new InMemoryEventStore();
    await define(store, 'c1', 5);
    const result = await outcomes(
      Array.from({ length: 20 }, (_, i) => () => subscribe(store, 'c1', `s${i}`)),
    );
    expect(result).toEqual({ won: 5, refused: 15, other: [] });
    const { events } = await store.read(
      EventQuery.of({ eventTypes: ['StudentSubscribed'], tags: ['course:c1'] }),
    );
    expect(events).toHaveLength(5);
  });

  it('a student racing into 6 courses gets into 3', async () => {
    const store = new InMemoryEventStore();
    for (let c = 0; c < 6; c++) await define(store, `c${c}`, 10);
    const result = await outcomes(Array.from({ length: 6 }, (_, c) => () => subscribe(store, `c${c}`, 's1')));
    expect(result).toEqual({ won: 3, refused: 3, other: [] });
  });

  it('refuses a course that does not exist, and a second definition', async () => {
    const store = new InMemoryEventStore();
    await expect(subscribe(store, 'nope', 's1')).rejects.toThrow('does not exist');
    await define(store, 'c1', 1);
    await expect(define(store, 'c1', 2)).rejects.toThrow('defined already');
  });
});

describe('unique usernames', () => {
  type UserEvent = DomainEvent<'UserRegistered', { userId: string; username: string }>;
  const register: DcbDecider<boolean, { userId: string; username: string }, UserEvent> = {
    query: (command) => EventQuery.tags(`username:${command.username}`),
    initialState: () => false,
    evolve: () => true,
    decide: (command, taken) => {
      if (taken) throw new DomainError(`username ${command.username} is taken`);
      return { type: 'UserRegistered', data: command, tags: [`username:${command.username}`] };
    },
  };

  it('of 10 concurrent registrations of one name, exactly one succeeds', async () => {
    const store = new InMemoryEventStore();
    const result = await outcomes(
      Array.from(
        { length: 10 },
        (_, i) => () => executeDcbDecider(store, register, { userId: `u${i}`, username: 'ada' }, RACING),
      ),
    );
    expect(result).toEqual({ won: 1, refused: 9, other: [] });
  });

  it('registrations of different names do not conflict: each succeeds on its first attempt', async () => {
    const store = new InMemoryEventStore();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        executeDcbDecider(store, register, { userId: `u${i}`, username: `name${i}` }, { maxRetries: 0 }),
      ),
    );
    expect(results.map((r) => r.attempts)).toEqual(Array(10).fill(1));
  });
});

describe('an invoice number sequence', () => {
  type InvoiceEvent = DomainEvent<'InvoiceCreated', { invoiceNumber: number; customer: string }>;
  const lastNumber: EventProjection<number, InvoiceEvent> = {
    query: EventQuery.eventTypes('InvoiceCreated'),
    initialState: () => 0,
    evolve: (_, event) => event.data.invoiceNumber,
  };
  const createInvoice = (store: EventStore, customer: string) =>
    decide(
      store,
      lastNumber,
      (last): NewEvent<InvoiceEvent> => ({
        type: 'InvoiceCreated',
        data: { invoiceNumber: last + 1, customer },
        tags: [`invoice:${last + 1}`],
      }),
      RACING,
    );

  it('20 concurrent invoices get the numbers 1 to 20, without gaps or duplicates', async () => {
    const store = new InMemoryEventStore();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createInvoice(store, `customer-${i}`)),
    );
    const numbers = results.flatMap((r) => r.events.map((e) => e.data.invoiceNumber));
    expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // They raced: some had to decide again.
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    const { events } = await store.read<InvoiceEvent>(lastNumber.query);
    expect(events.map((e) => e.data.invoiceNumber)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe('decide', () => {
  const flag: EventProjection<boolean> = {
    query: EventQuery.tags('flag'),
    initialState: () => false,
    evolve: () => true,
  };

  it('appends nothing when the decision is no events', async () => {
    const store = new InMemoryEventStore();
    const result = await decide(store, flag, () => []);
    expect(result).toEqual({ state: false, events: [], appended: undefined, attempts: 1 });
    expect((await store.read(EventQuery.tags('flag'))).events).toEqual([]);
  });

  it('appends to a named stream when asked, with the condition', async () => {
    const store = new InMemoryEventStore();
    const result = await decide(store, flag, () => ({ type: 'Set', data: {}, tags: ['flag'] }), {
      streamId: 'flags',
    });
    expect(result.appended).toMatchObject({ streamId: 'flags', nextVersion: 1 });
    expect(await store.getStreamVersion('flags')).toBe(1);
  });

  it('gives up after maxRetries conflicts with the last AppendConditionFailedError', async () => {
    const store = new InMemoryEventStore();
    let attempts = 0;
    const error = await decide(
      store,
      flag,
      async () => {
        attempts++;
        // Another writer sets the flag between this read and the append, every time.
        await store.append([{ type: 'Set', data: {}, tags: ['flag'] }]);
        return { type: 'Set', data: {}, tags: ['flag'] };
      },
      { maxRetries: 2, backoff: { initialDelayMs: 0 } },
    ).catch((e: unknown) => e);
    expect(isAppendConditionFailedError(error)).toBe(true);
    expect(attempts).toBe(3);
  });

  it('passes domain errors through without retrying', async () => {
    const store = new InMemoryEventStore();
    let attempts = 0;
    await expect(
      decide(store, flag, () => {
        attempts++;
        throw new DomainError('no');
      }),
    ).rejects.toThrow('no');
    expect(attempts).toBe(1);
  });

  it('refuses a store without dynamic consistency boundaries', async () => {
    const inMemory = new InMemoryEventStore();
    const store: EventStore = {
      capabilities: { globalOrdering: true, transactions: true, liveNotifications: false },
      appendEvents: inMemory.appendEvents.bind(inMemory),
      getEvents: inMemory.getEvents.bind(inMemory),
      getEventsByType: inMemory.getEventsByType.bind(inMemory),
      getAllEvents: inMemory.getAllEvents.bind(inMemory),
      getStreamVersion: inMemory.getStreamVersion.bind(inMemory),
      streamExists: inMemory.streamExists.bind(inMemory),
      close: inMemory.close.bind(inMemory),
    };
    const error = await decide(store, flag, () => []).catch((e: unknown) => e);
    expect(isInvalidArgumentError(error)).toBe(true);
    expect((error as Error).message).toMatch(/does not support dynamic consistency boundaries/);
  });
});

describe('scanEventQuery', () => {
  it('reads every matching event in batches, then gives the position read up to', async () => {
    const store = new InMemoryEventStore();
    for (let i = 0; i < 12; i++) {
      await store.append(
        Array.from({ length: 100 }, (_, j) => ({
          type: 'T',
          data: { n: i * 100 + j },
          tags: [j % 2 ? 'odd' : 'even'],
        })),
      );
    }
    const scan = scanEventQuery<DomainEvent<'T', { n: number }>>(store, EventQuery.tags('even'), {
      batchSize: 250,
    });
    expect(scan.position).toBeUndefined();
    const seen: number[] = [];
    for await (const event of scan) seen.push(event.data.n);
    expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => i * 2));
    expect(scan.position).toBe(1200n);
    await store.append([{ type: 'T', data: { n: -1 }, tags: ['odd'] }]);
    await expect(
      store.append([{ type: 'T', data: { n: -1 }, tags: ['even'] }], {
        condition: { failIfEventsMatch: EventQuery.tags('even'), afterPosition: scan.position },
      }),
    ).resolves.toMatchObject({ lastPosition: 1202n });
  });
});
