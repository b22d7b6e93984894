import type { Decider, DomainEvent } from '@es/core';
import { expect } from '@jest/globals';
import { deepFreeze, type ErrorMatcher, expectErrorMatching, explain, typeAndData } from './compare.js';

/** The outcome of `deciderFixture(...).given(...).when(command)`, to assert on. */
export interface DeciderOutcome<TState, E extends DomainEvent> {
  /** Asserts `decide` returned exactly these events (type and data). */
  thenEvents(expected: readonly E[]): void;
  /** Runs assertions on the state after evolving the given and decided events. */
  thenState(assert: (state: TState) => void): void;
  /** Asserts `decide` threw, optionally matching a message, pattern or class. */
  thenThrows(matcher?: ErrorMatcher): void;
}

/**
 * Given/when/then for deciders. The state handed to `decide` is deep-frozen, so a `decide` that
 * mutates state fails, and `decide` is run twice to catch non-determinism.
 *
 * @example
 * deciderFixture(counter).given({ type: 'Added', data: { by: 2 } }).when({ type: 'Add', by: 3 })
 *   .thenEvents([{ type: 'Added', data: { by: 3 } }]);
 */
export function deciderFixture<TState, TCommand, E extends DomainEvent>(
  decider: Decider<TState, TCommand, E>,
) {
  return {
    given(...history: E[]) {
      return {
        when: (command: TCommand): DeciderOutcome<TState, E> => deciderOutcome(decider, history, command),
      };
    },
  };
}

function deciderOutcome<TState, TCommand, E extends DomainEvent>(
  decider: Decider<TState, TCommand, E>,
  history: readonly E[],
  command: TCommand,
): DeciderOutcome<TState, E> {
  const stateBefore = () =>
    history.reduce((state, event) => decider.evolve(state, event), decider.initialState());
  const decide = (): readonly E[] => {
    const decided = decider.decide(command, deepFreeze(stateBefore()));
    return Array.isArray(decided) ? decided : [decided as E];
  };
  const decideTwice = (): readonly E[] => {
    const first = decide();
    explain(
      'decide() returned different events for the same command and state: it must be deterministic.',
      () => expect(typeAndData(decide())).toEqual(typeAndData(first)),
    );
    return first;
  };

  return {
    thenEvents(expected) {
      expect(typeAndData(decideTwice())).toEqual(typeAndData(expected));
    },
    thenState(assert) {
      const events = decideTwice();
      assert(events.reduce((state, event) => decider.evolve(state, event), stateBefore()));
    },
    thenThrows(matcher) {
      let error: unknown;
      try {
        decide();
      } catch (caught) {
        error = caught;
      }
      if (error === undefined) throw new Error('Expected decide() to throw, but it returned events.');
      expectErrorMatching(error, matcher);
    },
  };
}
