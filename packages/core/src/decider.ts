import { EventSourcedAggregate } from './aggregate.js';
import type { DomainEvent } from './events.js';
import type { SnapshotCapable } from './snapshot.js';

/**
 * The functional style: pure functions for deciding and evolving. `decide` returns the events a
 * command produces (or throws a domain error); `evolve` folds one event into the state.
 *
 * @example
 * const counter: Decider<number, { type: 'Add'; by: number }, DomainEvent<'Added', { by: number }>> = {
 *   initialState: () => 0,
 *   decide: (command) => [{ type: 'Added', data: { by: command.by } }],
 *   evolve: (state, event) => state + event.data.by,
 * };
 */
export interface Decider<TState, TCommand, E extends DomainEvent> {
  initialState(): TState;
  decide(command: TCommand, state: TState): E | readonly E[];
  evolve(state: TState, event: E): TState;
}

/**
 * Runs a {@link Decider} as an aggregate, so deciders load and save through the same repository as
 * classes. Its state is its snapshot.
 */
export class DeciderAggregate<TState, TCommand, E extends DomainEvent>
  extends EventSourcedAggregate<E>
  implements SnapshotCapable<TState>
{
  #state: TState;

  constructor(
    id: string,
    readonly decider: Decider<TState, TCommand, E>,
  ) {
    super(id);
    this.#state = decider.initialState();
  }

  get state(): TState {
    return this.#state;
  }

  /** Decides the command against the current state and raises the resulting events. */
  execute(command: TCommand): readonly E[] {
    const decided = this.decider.decide(command, this.#state);
    const events: readonly E[] = Array.isArray(decided) ? decided : [decided as E];
    for (const event of events) this.raiseEvent(event);
    return events;
  }

  protected apply(event: E): void {
    this.#state = this.decider.evolve(this.#state, event);
  }

  createSnapshot(): TState {
    return this.#state;
  }

  restoreSnapshot(state: TState): void {
    this.#state = state;
  }
}

/** A repository factory for a decider: `new EventSourcedRepository({ factory: deciderFactory(d), ... })`. */
export function deciderFactory<TState, TCommand, E extends DomainEvent>(
  decider: Decider<TState, TCommand, E>,
): (id: string) => DeciderAggregate<TState, TCommand, E> {
  return (id) => new DeciderAggregate(id, decider);
}
