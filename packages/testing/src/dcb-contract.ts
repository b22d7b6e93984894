import { randomUUID } from 'node:crypto';
import {
  type AppendCondition,
  type AppendOptions,
  type ConditionalAppendResult,
  type EventQuery,
  type EventStore,
  ExpectedVersion,
  isAppendConditionFailedError,
  isConcurrencyConflictError,
  isInvalidArgumentError,
  type NewEvent,
  type Position,
  type QueryReadOptions,
  type QueryReadResult,
} from '@es/core';
import { describe, expect, it, jest } from '@jest/globals';
import { type EventStoreContractConfig, readAll, storeOpener } from './event-store-contract/context.js';
import { failureOf } from './store-closed.js';

/**
 * How {@link describeDcbContract} opens stores (as the event-store contract does) and how hard it
 * races them: `racers` concurrent conditional appenders (default 8) over `rounds` rounds (default
 * 100; an in-memory store needs fewer).
 *
 * @example
 * describeDcbContract({ name: 'InMemoryEventStore', create: async (o) => new InMemoryEventStore(o), rounds: 20 });
 */
export interface DcbContractConfig extends EventStoreContractConfig {
  /** Concurrent appenders per round in the race tests. Defaults to 8. */
  readonly racers?: number;
  /** Rounds of the race tests. Defaults to 100. */
  readonly rounds?: number;
}

/**
 * The behaviour of dynamic consistency boundaries every store with
 * `capabilities.dynamicConsistencyBoundaries` must show, as one jest suite: tags stored and read
 * back exactly, query semantics, the position a read returns, conditional appends (failing, passing,
 * atomic), a stream id used as a tag, and, under concurrency, exactly one winner among racers with
 * the same condition, no false conflicts between disjoint tags, and no write skew.
 *
 * @example
 * describeDcbContract({ name: 'MyStore', create: async ({ registry }) => MyStore.open({ registry }) });
 */
export function describeDcbContract(config: DcbContractConfig): void {
  describe(`DCB contract: ${config.name}`, () => {
    jest.setTimeout(config.timeoutMs ?? 120_000);
    const open = storeOpener(config);
    const racers = config.racers ?? 8;
    const rounds = config.rounds ?? 100;
    const concurrency = config.limitations?.concurrentWriters;

    it('declares the capability and has read and append', async () => {
      const store = await open();
      expect(store.capabilities.dynamicConsistencyBoundaries).toBe(true);
      expect(typeof store.read).toBe('function');
      expect(typeof store.append).toBe('function');
    });

    describe('tags', () => {
      it('are stored and read back exactly, in order, by every read', async () => {
        const store = await open();
        const streamId = `s-${randomUUID()}`;
        const tags = ['z:9', 'a:1', 'Mixed Case', 'ünï:cödé'];
        await store.appendEvents(streamId, ExpectedVersion.NoStream, [event('A', tags), event('B')]);
        const { streamId: batchStream } = await dcb(store).append([event('C', ['c:1'])]);

        const expected = [tags, [], ['c:1']];
        expect((await store.getEvents(streamId)).map((e) => e.tags)).toEqual(expected.slice(0, 2));
        expect((await store.getEvents(batchStream)).map((e) => e.tags)).toEqual([['c:1']]);
        expect((await store.getEventsByType(['A', 'B', 'C'])).map((e) => e.tags)).toEqual(expected);
        expect((await readAll(store)).map((e) => e.tags)).toEqual(expected);
        const read = await readSettled(store, { items: [{ eventTypes: ['A', 'B', 'C'] }] });
        expect(read.events.map((e) => e.tags)).toEqual(expected);
      });

      it('refuses empty, duplicate and malformed tags, writing nothing', async () => {
        const store = await open();
        const bad: unknown[] = [
          [''],
          ['   '],
          ['a', 'a'],
          ['x'.repeat(513)],
          [42],
          'tag',
          Array.from({ length: 65 }, (_, i) => `t${i}`),
        ];
        for (const tags of bad) {
          const batch = [{ type: 'A', data: {}, tags } as unknown as NewEvent];
          await expectFailure(() => dcb(store).append(batch), isInvalidArgumentError);
          await expectFailure(
            () => store.appendEvents(`s-${randomUUID()}`, 'any', batch),
            isInvalidArgumentError,
          );
        }
        expect(await readAll(store)).toEqual([]);
      });

      it('an empty tag list is no tags', async () => {
        const store = await open();
        await dcb(store).append([event('A', [])]);
        expect((await readAll(store)).map((e) => e.tags)).toEqual([[]]);
      });
    });

    describe('queries', () => {
      // e1 A [t1] · e2 B [t1, t2] · e3 A [t2] · e4 C []
      const seed = async () => {
        const store = await open();
        const t1 = `t1:${randomUUID()}`;
        const t2 = `t2:${randomUUID()}`;
        for (const [type, tags] of [
          ['A', [t1]],
          ['B', [t1, t2]],
          ['A', [t2]],
          ['C', []],
        ] as const) {
          await dcb(store).append([event(type, tags)]);
        }
        const all = await readAll(store);
        return { store, t1, t2, positions: all.map((e) => e.position) };
      };
      const positionsOf = (result: QueryReadResult) => result.events.map((e) => e.position);

      it('select by types, by tags (all of them), by both, and by several items, in global order', async () => {
        const { store, t1, t2, positions } = await seed();
        const [p1, p2, p3, p4] = positions;
        const read = (query: EventQuery) => readSettled(store, query, positions[3]);
        expect(positionsOf(await read({ items: [{ eventTypes: ['A'] }] }))).toEqual([p1, p3]);
        expect(positionsOf(await read({ items: [{ tags: [t1] }] }))).toEqual([p1, p2]);
        expect(positionsOf(await read({ items: [{ tags: [t2, t1] }] }))).toEqual([p2]);
        expect(positionsOf(await read({ items: [{ eventTypes: ['A'], tags: [t2] }] }))).toEqual([p3]);
        expect(positionsOf(await read({ items: [{ eventTypes: ['A', 'B'], tags: [t1] }] }))).toEqual([
          p1,
          p2,
        ]);
        expect(positionsOf(await read({ items: [{ tags: [t2] }, { eventTypes: ['C'] }] }))).toEqual([
          p2,
          p3,
          p4,
        ]);
        // An event matching two items is returned once.
        expect(positionsOf(await read({ items: [{ tags: [t1] }, { eventTypes: ['B'] }] }))).toEqual([p1, p2]);
      });

      it('with no match return no events and the position of the head of the log', async () => {
        const { store, t1, positions } = await seed();
        const result = await readSettled(
          store,
          { items: [{ tags: [`none:${randomUUID()}`] }] },
          positions[3],
        );
        expect(result.events).toEqual([]);
        expect(result.position).toBeGreaterThanOrEqual(positions[3]!);
        const typed = await readSettled(store, { items: [{ eventTypes: ['C'], tags: [t1] }] }, positions[3]);
        expect(typed.events).toEqual([]);
        expect(typed.position).toBeGreaterThanOrEqual(positions[3]!);
      });

      it('an empty store reads as nothing at position 0 or later', async () => {
        const store = await open();
        const result = await dcb(store).read({ items: [{ tags: ['nothing'] }] });
        expect(result.events).toEqual([]);
        expect(result.position).toBeGreaterThanOrEqual(0n);
      });

      it('resume after a position, and stop at a limit with the last event as the position', async () => {
        const { store, t1, t2, positions } = await seed();
        const [p1, p2, p3] = positions;
        const after = await readSettled(store, { items: [{ tags: [t1] }] }, positions[3], {
          afterPosition: p1,
        });
        expect(positionsOf(after)).toEqual([p2]);
        const limited = await dcb(store).read({ items: [{ tags: [t2] }] }, { limit: 1 });
        expect(positionsOf(limited)).toEqual([p2]);
        expect(limited.position).toBe(p2);
        const next = await dcb(store).read(
          { items: [{ tags: [t2] }] },
          { afterPosition: limited.position, limit: 1 },
        );
        expect(positionsOf(next)).toEqual([p3]);
      });

      it('match a stream id as a tag', async () => {
        const store = await open();
        const streamId = `account-${randomUUID()}`;
        await store.appendEvents(streamId, ExpectedVersion.NoStream, [event('A'), event('B', ['other'])]);
        const { lastPosition } = await dcb(store).append([event('C')], { streamId });
        const result = await readSettled(store, { items: [{ tags: [streamId] }] }, lastPosition);
        expect(result.events.map((e) => e.type)).toEqual(['A', 'B', 'C']);
        const both = await readSettled(store, { items: [{ tags: [streamId, 'other'] }] }, lastPosition);
        expect(both.events.map((e) => e.type)).toEqual(['B']);
        // The stream id is matched, not stored: the tags read back are the ones given.
        expect(result.events.map((e) => e.tags)).toEqual([[], ['other'], []]);
      });

      it('refuse a query without items, an item with neither types nor tags, and empty lists', async () => {
        const store = await open();
        const bad: unknown[] = [
          undefined,
          {},
          { items: [] },
          { items: [{}] },
          { items: [{ eventTypes: [] }] },
          { items: [{ tags: [] }] },
          { items: [{ tags: ['a', 'a'] }] },
          { items: [{ tag: ['a'] }] },
        ];
        for (const query of bad) {
          await expectFailure(() => dcb(store).read(query as EventQuery), isInvalidArgumentError);
          await expectFailure(
            () => dcb(store).append([event('A')], { condition: { failIfEventsMatch: query as EventQuery } }),
            isInvalidArgumentError,
          );
        }
        expect(await readAll(store)).toEqual([]);
      });
    });

    describe('conditional appends', () => {
      it('fail on a matching event after the position, and pass when the match is at or before it', async () => {
        const store = await open();
        const tag = `course:${randomUUID()}`;
        const query: EventQuery = { items: [{ tags: [tag] }] };
        const first = await dcb(store).append([event('A', [tag])]);
        const read = await readSettled(store, query, first.lastPosition);
        expect(read.events).toHaveLength(1);

        // At the position read: passes.
        const second = await dcb(store).append([event('B', [tag])], {
          condition: { failIfEventsMatch: query, afterPosition: read.position },
        });
        // A match exactly at the position is not after it: passes.
        await dcb(store).append([event('B', ['unrelated'])], {
          condition: { failIfEventsMatch: query, afterPosition: second.lastPosition },
        });
        // The old position again: `second` is after it.
        const condition: AppendCondition = { failIfEventsMatch: query, afterPosition: read.position };
        const error = await failureOf(() => dcb(store).append([event('C', [tag])], { condition }));
        expect(isAppendConditionFailedError(error)).toBe(true);
        expect(error).toMatchObject({ code: 'ES_APPEND_CONDITION_FAILED', condition });
        const conflicting = (error as { conflictingPosition?: Position }).conflictingPosition;
        if (conflicting !== undefined) expect(conflicting).toBe(second.lastPosition);
        expect((await readAll(store)).map((e) => e.type)).toEqual(['A', 'B', 'B']);
      });

      it('without a position, fail on any matching event and pass when none exists (uniqueness)', async () => {
        const store = await open();
        const tag = `username:${randomUUID()}`;
        const condition: AppendCondition = { failIfEventsMatch: { items: [{ tags: [tag] }] } };
        await dcb(store).append([event('Registered', [tag])], { condition });
        await expectFailure(
          () => dcb(store).append([event('Registered', [tag])], { condition }),
          isAppendConditionFailedError,
        );
        // A condition on another tag is not failed by it.
        const other: AppendCondition = { failIfEventsMatch: { items: [{ tags: [`${tag}-other`] }] } };
        await dcb(store).append([event('Registered', [tag])], { condition: other });
        expect((await readAll(store)).filter((e) => e.tags?.includes(tag))).toHaveLength(2);
      });

      it('check the types of an item too', async () => {
        const store = await open();
        const tag = `invoice:${randomUUID()}`;
        const query: EventQuery = { items: [{ eventTypes: ['Issued'], tags: [tag] }] };
        await dcb(store).append([event('Drafted', [tag])]);
        await dcb(store).append([event('Issued', [tag])], { condition: { failIfEventsMatch: query } });
        await expectFailure(
          () => dcb(store).append([event('Issued', [tag])], { condition: { failIfEventsMatch: query } }),
          isAppendConditionFailedError,
        );
      });

      it('are atomic: a failed condition writes none of the batch', async () => {
        const store = await open();
        const tag = `t:${randomUUID()}`;
        await dcb(store).append([event('A', [tag])]);
        const before = await readAll(store);
        const batch = [event('B', ['x']), event('C', ['y']), event('D', [tag])];
        await expectFailure(
          () => dcb(store).append(batch, { condition: { failIfEventsMatch: { items: [{ tags: [tag] }] } } }),
          isAppendConditionFailedError,
        );
        const streamId = `s-${randomUUID()}`;
        await expectFailure(
          () =>
            dcb(store).append(batch, {
              streamId,
              expectedVersion: 0,
              condition: { failIfEventsMatch: { items: [{ tags: [tag] }] } },
            }),
          isAppendConditionFailedError,
        );
        expect(await readAll(store)).toEqual(before);
        expect(await store.streamExists(streamId)).toBe(false);
      });

      it('put a streamless batch in a stream of its own, and a named one in its stream at the expected version', async () => {
        const store = await open();
        const batch = await dcb(store).append([event('A', ['a']), event('B', ['b'])]);
        expect(batch.streamId.startsWith('$dcb-')).toBe(true);
        expect(batch.nextVersion).toBe(2);
        const events = await store.getEvents(batch.streamId);
        expect(events.map((e) => e.version)).toEqual([1, 2]);
        expect(batch.streamId).toBe(`$dcb-${events[0]!.eventId}`);

        const streamId = `s-${randomUUID()}`;
        const named = await dcb(store).append([event('A')], {
          streamId,
          expectedVersion: ExpectedVersion.NoStream,
        });
        expect(named).toMatchObject({ streamId, nextVersion: 1 });
        await expectFailure(
          () => dcb(store).append([event('A')], { streamId, expectedVersion: 0 }),
          isConcurrencyConflictError,
        );
        await expectFailure(
          () => dcb(store).append([event('A')], { expectedVersion: 0 } as AppendOptions),
          isInvalidArgumentError,
        );
      });

      it('are idempotent: a retried batch with the same event ids returns the original result, condition and all', async () => {
        const store = await open();
        const tag = `t:${randomUUID()}`;
        const batch = [{ ...event('A', [tag]), eventId: randomUUID() }];
        const condition: AppendCondition = { failIfEventsMatch: { items: [{ tags: [tag] }] } };
        const first = await dcb(store).append(batch, { condition });
        const retried = await dcb(store).append(batch, { condition });
        expect(retried).toEqual(first);
        expect(await readAll(store)).toHaveLength(1);
      });

      it('conflict with stream appends when the condition names the stream id as a tag', async () => {
        const store = await open();
        const streamId = `account-${randomUUID()}`;
        await store.appendEvents(streamId, ExpectedVersion.NoStream, [event('A')]);
        const query: EventQuery = { items: [{ tags: [streamId] }] };
        const read = await readSettled(store, query);
        await store.appendEvents(streamId, 1, [event('B')]);
        await expectFailure(
          () =>
            dcb(store).append([event('C')], {
              condition: { failIfEventsMatch: query, afterPosition: read.position },
            }),
          isAppendConditionFailedError,
        );
      });
    });

    const concurrent = concurrency ? describe.skip : describe;
    concurrent(`under concurrency${concurrency ? ` (not run: ${concurrency})` : ''}`, () => {
      it(`${racers} appenders with the same condition: exactly one wins each of ${rounds} rounds`, async () => {
        const store = await open();
        let last: Position = 0n;
        for (let round = 0; round < rounds; round++) {
          const tag = `seat:${round}:${randomUUID()}`;
          const query: EventQuery = { items: [{ tags: [tag] }] };
          const { position } = await readSettled(store, query, last);
          const outcomes = await Promise.allSettled(
            Array.from({ length: racers }, (_, racer) =>
              dcb(store).append([event('Claimed', [tag, `racer:${racer}`])], {
                condition: { failIfEventsMatch: query, afterPosition: position },
              }),
            ),
          );
          const won = outcomes.filter(
            (o) => o.status === 'fulfilled',
          ) as PromiseFulfilledResult<ConditionalAppendResult>[];
          const lost = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
          for (const loss of lost) expect(isAppendConditionFailedError(loss.reason)).toBe(true);
          expect({ round, winners: won.length }).toEqual({ round, winners: 1 });
          last = won[0]!.value.lastPosition;
          const stored = await readSettled(store, query, last);
          expect(stored.events).toHaveLength(1);
        }
      });

      it(`${racers} appenders on disjoint tags never conflict`, async () => {
        const store = await open();
        const appendsPerWriter = Math.max(5, Math.ceil(rounds / 10));
        const failures: unknown[] = [];
        const writer = async (index: number) => {
          const tag = `own:${index}:${randomUUID()}`;
          const query: EventQuery = { items: [{ tags: [tag] }] };
          let last: Position = 0n;
          for (let i = 0; i < appendsPerWriter; i++) {
            const { position, events } = await readSettled(store, query, last);
            expect(events).toHaveLength(i);
            try {
              const result = await dcb(store).append([event('Counted', [tag, 'shared:noise'])], {
                condition: { failIfEventsMatch: query, afterPosition: position },
              });
              last = result.lastPosition;
            } catch (error) {
              failures.push(error);
              return;
            }
          }
        };
        await Promise.all(Array.from({ length: racers }, (_, index) => writer(index)));
        expect(failures).toEqual([]);
        expect(await readAll(store)).toHaveLength(racers * appendsPerWriter);
      });

      it('prevent write skew: conditions on X writing Y and on Y writing X never both succeed', async () => {
        const store = await open();
        const skewRounds = Math.max(5, Math.ceil(rounds / 5));
        let last: Position = 0n;
        for (let round = 0; round < skewRounds; round++) {
          const x = `x:${randomUUID()}`;
          const y = `y:${randomUUID()}`;
          const queryX: EventQuery = { items: [{ tags: [x] }] };
          const queryY: EventQuery = { items: [{ tags: [y] }] };
          const [readX, readY] = [
            await readSettled(store, queryX, last),
            await readSettled(store, queryY, last),
          ];
          const outcomes = await Promise.allSettled([
            dcb(store).append([event('OnCall', [y])], {
              condition: { failIfEventsMatch: queryX, afterPosition: readX.position },
            }),
            dcb(store).append([event('OnCall', [x])], {
              condition: { failIfEventsMatch: queryY, afterPosition: readY.position },
            }),
          ]);
          const won = outcomes.filter(
            (o) => o.status === 'fulfilled',
          ) as PromiseFulfilledResult<ConditionalAppendResult>[];
          expect({ round, winners: won.length }).toEqual({ round, winners: 1 });
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected')
              expect(isAppendConditionFailedError(outcome.reason)).toBe(true);
          }
          last = won[0]!.value.lastPosition;
        }
      });
    });
  });
}

type DcbStore = EventStore & Required<Pick<EventStore, 'read' | 'append'>>;

function dcb(store: EventStore): DcbStore {
  if (typeof store.read !== 'function' || typeof store.append !== 'function') {
    throw new Error('The store has no read(query) or append(events, options): it does not support DCB.');
  }
  return store as DcbStore;
}

function event(type: string, tags?: readonly string[]): NewEvent {
  return tags === undefined ? { type, data: {} } : { type, data: {}, tags };
}

// Fails the test, showing the error, unless `call` fails with an error `guard` accepts.
async function expectFailure(call: () => unknown, guard: (error: unknown) => boolean): Promise<void> {
  const error = await failureOf(call);
  expect({ error: String(error), expected: guard(error) }).toEqual({ error: String(error), expected: true });
}

/**
 * Reads `query` until the read's position reaches `atLeast`: a store may show the newest events
 * only once every older transaction has finished, so on a shared server a just-committed event can
 * stay hidden for a moment. After 30 s it returns what it read; the test's assertion then reports it.
 */
async function readSettled(
  store: EventStore,
  query: EventQuery,
  atLeast: Position = 0n,
  options: QueryReadOptions = {},
): Promise<QueryReadResult> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const result = await dcb(store).read(query, options);
    if (result.position >= atLeast || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
