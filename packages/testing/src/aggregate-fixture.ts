import type { AnyAggregate, EventOfAggregate } from '@es/core';
import { expect } from '@jest/globals';
import { type ErrorMatcher, expectErrorMatching, explain, stateOf, typeAndData } from './compare.js';

/** The outcome of `when`, to assert on. */
export interface AggregateOutcome<T extends AnyAggregate> {
  /** Asserts the command raised exactly these events (type and data), then checks replay fidelity. */
  thenEvents(expected: readonly EventOfAggregate<T>[]): Promise<void>;
  /** Runs assertions on the aggregate after the command (replay fidelity is checked too). */
  thenState(assert: (aggregate: T) => void): Promise<void>;
  /** Asserts the command threw (optionally matching a message, pattern or class) and raised nothing. */
  thenThrows(matcher?: ErrorMatcher): Promise<void>;
}

/** What `aggregateFixture(...).given(...)` returns: the history is set, name the command next. */
export interface AggregateGiven<T extends AnyAggregate> {
  /** The command to run against the aggregate rebuilt from the given history. */
  when(command: (aggregate: T) => unknown): AggregateOutcome<T>;
}

/**
 * Given/when/then for class-style aggregates. Besides checking the raised events, every `then`
 * replays history plus the raised events into a fresh instance and requires the same state: a
 * command that changes state outside `apply` fails here instead of in production.
 *
 * @example
 * await aggregateFixture((id) => new BankAccount(id))
 *   .given({ type: 'AccountOpened', data: { owner: 'Ada' } }, { type: 'MoneyDeposited', data: { amount: 100 } })
 *   .when((account) => account.withdraw(30))
 *   .thenEvents([{ type: 'MoneyWithdrawn', data: { amount: 30 } }]);
 */
export function aggregateFixture<T extends AnyAggregate>(
  factory: (id: string) => T,
  options: string | AggregateFixtureOptions<T> = {},
) {
  const { id = 'fixture-1', stateOf = defaultStateOf } =
    typeof options === 'string' ? { id: options } : options;
  const context: FixtureContext<T> = { factory, id, stateOf };
  return {
    given(...history: EventOfAggregate<T>[]): AggregateGiven<T> {
      return { when: (command) => aggregateOutcome(context, history, command) };
    },
  };
}

/**
 * Options of {@link aggregateFixture} (or just the id as a string): the aggregate id (defaults to
 * "fixture-1") and how to read the state compared by the replay check.
 */
export interface AggregateFixtureOptions<T> {
  /** The aggregate id. Defaults to "fixture-1". */
  readonly id?: string;
  /**
   * The state to compare in the replay check. Defaults to `createSnapshot()` when the aggregate has
   * it, else its own enumerable fields; give it for aggregates that keep state in #private fields.
   */
  readonly stateOf?: (aggregate: T) => unknown;
}

interface FixtureContext<T> {
  readonly factory: (id: string) => T;
  readonly id: string;
  readonly stateOf: (aggregate: T) => unknown;
}

function defaultStateOf(aggregate: object): unknown {
  const state = stateOf(aggregate);
  if (typeof state === 'object' && state !== null && Object.keys(state).length === 0) {
    throw new Error(
      "aggregateFixture cannot see this aggregate's state (no createSnapshot() and no public fields), so it " +
        'cannot check that replaying its events reproduces it. Implement createSnapshot(), or pass ' +
        "{ stateOf: (aggregate) => ... } as the fixture's second argument.",
    );
  }
  return state;
}

function aggregateOutcome<T extends AnyAggregate>(
  context: FixtureContext<T>,
  history: readonly EventOfAggregate<T>[],
  command: (aggregate: T) => unknown,
): AggregateOutcome<T> {
  const run = async () => {
    const aggregate = context.factory(context.id);
    aggregate.loadFromHistory(history);
    try {
      await command(aggregate);
      return { aggregate, error: undefined };
    } catch (error) {
      return { aggregate, error };
    }
  };

  const succeeded = async (): Promise<T> => {
    const { aggregate, error } = await run();
    if (error !== undefined)
      throw new Error(`Expected the command to succeed, but it threw: ${String(error)}`);
    checkReplay(context, history, aggregate);
    return aggregate;
  };

  return {
    async thenEvents(expected) {
      const aggregate = await succeeded();
      expect(typeAndData(aggregate.getUncommittedEvents())).toEqual(typeAndData(expected));
    },
    async thenState(assert) {
      assert(await succeeded());
    },
    async thenThrows(matcher) {
      const { aggregate, error } = await run();
      if (error === undefined) throw new Error('Expected the command to throw, but it succeeded.');
      expectErrorMatching(error, matcher);
      explain('A command that throws must not raise events.', () =>
        expect(typeAndData(aggregate.getUncommittedEvents())).toEqual([]),
      );
    },
  };
}

function checkReplay<T extends AnyAggregate>(
  context: FixtureContext<T>,
  history: readonly EventOfAggregate<T>[],
  aggregate: T,
): void {
  const replayed = context.factory(context.id);
  replayed.loadFromHistory([...history, ...(aggregate.getUncommittedEvents() as EventOfAggregate<T>[])]);
  explain(
    'Replaying the given and raised events does not reproduce the state the command left: ' +
      'the command changes state outside apply(), or apply() depends on something besides the event.',
    () => expect(context.stateOf(replayed)).toEqual(context.stateOf(aggregate)),
  );
}
