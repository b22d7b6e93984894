import { InvalidArgumentError, isAppendConditionFailedError, isConcurrencyConflictError } from './errors.js';
import { EventQuery, matchesEventQuery } from './event-query.js';
import type { ConditionalAppendResult, EventStore } from './event-store.js';
import type { DomainEvent, NewEvent, Position, StoredEvent } from './events.js';
import { type RetryOptions, retryWhile } from './retry.js';
import { assertPositiveInteger, describe } from './validation.js';

/**
 * State built from the events a query selects: the read side of a decision over dynamic
 * consistency boundaries. `evolve` sees only events matching `query`, in global order.
 *
 * @example
 * const courseCapacity: EventProjection<number, CourseEvent> = {
 *   query: EventQuery.of({ eventTypes: ['CourseDefined'], tags: ['course:c1'] }),
 *   initialState: () => 0,
 *   evolve: (capacity, event) => (event.type === 'CourseDefined' ? event.data.capacity : capacity),
 * };
 */
export interface EventProjection<TState, E extends DomainEvent = DomainEvent> {
  readonly query: EventQuery;
  initialState(): TState;
  evolve(state: TState, event: StoredEvent<E>): TState;
}

/** The state of each projection of a record of projections (see {@link composeProjections}). */
export type ComposedState<P> = {
  [K in keyof P]: P[K] extends EventProjection<infer S, DomainEvent> ? S : never;
};

/**
 * Combines named projections into one whose state holds each one's state and whose query selects
 * the events of any of them; each projection still evolves only on events matching its own query.
 * Deciding on the combined state, with its query as the condition, guards every fact used.
 *
 * @example
 * const model = composeProjections({ capacity: courseCapacity(c), subscribed: subscriptionCount(c) });
 * // model.initialState() is { capacity: 0, subscribed: 0 }
 */
export function composeProjections<
  E extends DomainEvent,
  P extends Record<string, EventProjection<unknown, E>>,
>(projections: P): EventProjection<ComposedState<P>, E> {
  const entries = Object.entries(projections);
  if (entries.length === 0) {
    throw new InvalidArgumentError('projections', 'is empty; compose at least one projection.');
  }
  return {
    query: EventQuery.or(...entries.map(([, projection]) => projection.query)),
    initialState: () =>
      Object.fromEntries(
        entries.map(([name, projection]) => [name, projection.initialState()]),
      ) as ComposedState<P>,
    evolve: (state, event) => {
      let next: Record<string, unknown> | undefined;
      for (const [name, projection] of entries) {
        if (!matchesEventQuery(event, projection.query)) continue;
        next ??= { ...(state as Record<string, unknown>) };
        next[name] = projection.evolve(next[name], event);
      }
      return (next ?? state) as ComposedState<P>;
    },
  };
}

/** What a decision function sees besides the state. */
export interface DecisionContext {
  /** The position the state was read up to: the condition's `afterPosition`. */
  readonly position: Position;
  /** 1 for the first attempt, then 2, 3... after each conflict. */
  readonly attempt: number;
}

/** Options of {@link decide}: retries (defaults to 10) and their backoff, and the stream to write to. */
export interface DecideOptions extends RetryOptions {
  /** Append the decided events to this stream (its version unchecked). Defaults to a stream per batch. */
  readonly streamId?: string;
}

/** What {@link decide} did: the state it decided on, the events it appended, and where. */
export interface DecisionResult<TState, E extends DomainEvent = DomainEvent> {
  /** The state of the attempt that succeeded. */
  readonly state: TState;
  /** The events decided (empty when the decision was to do nothing). */
  readonly events: readonly NewEvent<E>[];
  /** The append, or `undefined` when no event was decided. */
  readonly appended: ConditionalAppendResult | undefined;
  /** Attempts made, 1 when the first one succeeded. */
  readonly attempts: number;
}

/**
 * Makes a decision over dynamic consistency boundaries: reads the events `projection.query`
 * selects, folds them into state, calls `decision` (which returns the new events, with their tags,
 * or throws a domain error), and appends them on the condition that no event matching the same
 * query was appended since the read. On `AppendConditionFailedError` it reads and decides again,
 * with backoff, up to `maxRetries` (default 10) times. Needs a store with
 * `capabilities.dynamicConsistencyBoundaries`.
 *
 * @example
 * await decide(store, usernameClaims('ada'), (taken) => {
 *   if (taken) throw new Error('username taken');
 *   return [{ type: 'UserRegistered', data: { username: 'ada' }, tags: ['username:ada'] }];
 * });
 */
export async function decide<TState, E extends DomainEvent = DomainEvent>(
  store: EventStore,
  projection: EventProjection<TState, E>,
  decision: (
    state: TState,
    context: DecisionContext,
  ) => NewEvent<E> | readonly NewEvent<E>[] | Promise<NewEvent<E> | readonly NewEvent<E>[]>,
  options: DecideOptions = {},
): Promise<DecisionResult<TState, E>> {
  const { read, append } = dcbMethods(store);
  return retryWhile(
    (error) => isAppendConditionFailedError(error) || isConcurrencyConflictError(error),
    async (attempt) => {
      const { events: history, position } = await read<E>(projection.query);
      let state = projection.initialState();
      for (const event of history) state = projection.evolve(state, event);
      const decided = await decision(state, { position, attempt });
      const events: readonly NewEvent<E>[] = Array.isArray(decided) ? decided : [decided as NewEvent<E>];
      if (events.length === 0) return { state, events, appended: undefined, attempts: attempt };
      const appended = await append(events, {
        condition: { failIfEventsMatch: projection.query, afterPosition: position },
        ...(options.streamId === undefined ? {} : { streamId: options.streamId }),
      });
      return { state, events, appended, attempts: attempt };
    },
    { ...options, maxRetries: options.maxRetries ?? 10 },
  );
}

/**
 * The functional style over dynamic consistency boundaries: like {@link Decider}, but the events a
 * command depends on are selected by a query (from the command) instead of one stream.
 *
 * @example
 * const register: DcbDecider<boolean, { username: string }, UserEvent> = {
 *   query: (command) => EventQuery.tags(`username:${command.username}`),
 *   initialState: () => false,
 *   evolve: () => true,
 *   decide: (command, taken) => {
 *     if (taken) throw new Error('taken');
 *     return { type: 'UserRegistered', data: command, tags: [`username:${command.username}`] };
 *   },
 * };
 * await executeDcbDecider(store, register, { username: 'ada' });
 */
export interface DcbDecider<TState, TCommand, E extends DomainEvent = DomainEvent> {
  query(command: TCommand): EventQuery;
  initialState(): TState;
  evolve(state: TState, event: StoredEvent<E>): TState;
  decide(command: TCommand, state: TState): NewEvent<E> | readonly NewEvent<E>[];
}

/** Runs a {@link DcbDecider} for one command with {@link decide}: read, decide, conditional append, retry. */
export function executeDcbDecider<TState, TCommand, E extends DomainEvent = DomainEvent>(
  store: EventStore,
  decider: DcbDecider<TState, TCommand, E>,
  command: TCommand,
  options?: DecideOptions,
): Promise<DecisionResult<TState, E>> {
  const projection: EventProjection<TState, E> = {
    query: decider.query(command),
    initialState: () => decider.initialState(),
    evolve: (state, event) => decider.evolve(state, event),
  };
  return decide(store, projection, (state) => decider.decide(command, state), options);
}

/** Options of {@link scanEventQuery}. */
export interface ScanEventQueryOptions {
  /** Only events after this global position. Defaults to 0n. */
  readonly afterPosition?: Position;
  /** Events fetched per round trip. Defaults to 500. */
  readonly batchSize?: number;
  /** Aborts the scan between batches. */
  readonly signal?: AbortSignal;
}

/** The events of a query, lazily, and once iterated to the end, the position read up to. */
export interface EventQueryScan<E extends DomainEvent = DomainEvent> extends AsyncIterable<StoredEvent<E>> {
  /**
   * After the iteration ended: the position the whole scan is consistent with, as
   * `QueryReadResult.position`. `undefined` before then (or when the loop broke out early).
   */
  readonly position: Position | undefined;
}

/**
 * Reads a query's events in batches (constant memory) with `EventStore.read` and `limit`, and,
 * after the last one, gives the position the scan read up to: for large results, where `read`
 * would hold every event at once.
 *
 * @example
 * const scan = scanEventQuery(store, EventQuery.tags('course:c1'), { batchSize: 1000 });
 * for await (const event of scan) count++;
 * const { position } = scan; // pass it as a condition's afterPosition
 */
export function scanEventQuery<E extends DomainEvent = DomainEvent>(
  store: EventStore,
  query: EventQuery,
  options: ScanEventQueryOptions = {},
): EventQueryScan<E> {
  const { read } = dcbMethods(store);
  const batchSize = options.batchSize ?? 500;
  assertPositiveInteger(batchSize, 'batchSize');
  let position: Position | undefined;
  return {
    get position() {
      return position;
    },
    async *[Symbol.asyncIterator]() {
      let after = options.afterPosition ?? 0n;
      for (;;) {
        const page = await read<E>(query, { afterPosition: after, limit: batchSize, signal: options.signal });
        yield* page.events;
        after = page.position;
        if (page.events.length < batchSize) break;
      }
      position = after;
    },
  };
}

function dcbMethods(store: EventStore): {
  read: NonNullable<EventStore['read']>;
  append: NonNullable<EventStore['append']>;
} {
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.read !== 'function' ||
    typeof store.append !== 'function'
  ) {
    throw new InvalidArgumentError(
      'store',
      `${typeof store === 'object' && store !== null ? store.constructor.name : describe(store)} does not support dynamic consistency boundaries (no read(query) and append(events, { condition })); use a store whose capabilities.dynamicConsistencyBoundaries is true.`,
    );
  }
  return { read: store.read.bind(store), append: store.append.bind(store) };
}
