import { InvalidArgumentError } from './errors.js';
import type { Position } from './events.js';
import { assertEventType, assertPosition, assertTagList, describe } from './validation.js';

/**
 * One alternative of an {@link EventQuery}. An event matches the item when its type is one of
 * `eventTypes` (if given) and it carries every one of `tags` (if given). An item names at least one
 * of the two. An event carries its own tags and, as a tag too, its stream id.
 */
export interface EventQueryItem {
  /** Event types, any of which matches. Leave out for every type; an empty array is refused. */
  readonly eventTypes?: readonly string[];
  /** Tags the event must all carry. Leave out for no tag constraint; an empty array is refused. */
  readonly tags?: readonly string[];
}

/**
 * Selects events by types and tags (dynamic consistency boundaries): an event matches when it
 * matches any of the `items`. Build one with the `EventQuery` helpers or as a literal.
 *
 * @example
 * const courseAndStudent: EventQuery = {
 *   items: [
 *     { eventTypes: ['CourseDefined', 'CourseCapacityChanged'], tags: ['course:c1'] },
 *     { eventTypes: ['StudentSubscribed'], tags: ['student:s7'] },
 *   ],
 * };
 */
export interface EventQuery {
  /** The alternatives; at least one, at most {@link MAX_QUERY_ITEMS}. */
  readonly items: readonly EventQueryItem[];
}

/** The most items one query holds; every store refuses more the same way. */
export const MAX_QUERY_ITEMS = 64;

/**
 * Builders for {@link EventQuery}: `EventQuery.tags('course:c1')` (events carrying every tag),
 * `EventQuery.eventTypes('CourseDefined')` (events of any of the types), `EventQuery.of(...)`
 * (items given as objects) and `EventQuery.or(...)` (events matching any of several queries).
 *
 * @example
 * const query = EventQuery.or(
 *   EventQuery.tags('course:c1'),
 *   EventQuery.of({ eventTypes: ['StudentSubscribed'], tags: ['student:s7'] }),
 * );
 */
export const EventQuery = {
  /** Events carrying every one of `tags` (their stream id counts as a tag). */
  tags(...tags: readonly string[]): EventQuery {
    return { items: [{ tags }] };
  },
  /** Events of any of `eventTypes`. */
  eventTypes(...eventTypes: readonly string[]): EventQuery {
    return { items: [{ eventTypes }] };
  },
  /** A query of the given items: an event matches when it matches any of them. */
  of(...items: readonly EventQueryItem[]): EventQuery {
    return { items };
  },
  /** Events matching any of `queries`: their items, concatenated. */
  or(...queries: readonly EventQuery[]): EventQuery {
    return { items: queries.flatMap((query) => query.items) };
  },
} as const;

/**
 * The check of a conditional append: it fails with `AppendConditionFailedError`, writing nothing,
 * if any event matching `failIfEventsMatch` sits after `afterPosition` (anywhere in the log when
 * `afterPosition` is left out). Checked atomically with the write.
 *
 * @example
 * const { events, position } = await store.read(query);
 * await store.append([subscribed], { condition: { failIfEventsMatch: query, afterPosition: position } });
 */
export interface AppendCondition {
  /** The events that would invalidate the decision. */
  readonly failIfEventsMatch: EventQuery;
  /** The position the decision read up to (`read(...).position`). Left out: fail on any match. */
  readonly afterPosition?: Position;
}

/** A query checked and copied by {@link prepareEventQuery}: what adapters translate into their own query. */
export interface PreparedEventQuery {
  readonly items: readonly PreparedEventQueryItem[];
}

/** One checked item of a {@link PreparedEventQuery}; `undefined` fields constrain nothing. */
export interface PreparedEventQueryItem {
  readonly eventTypes: readonly string[] | undefined;
  readonly tags: readonly string[] | undefined;
}

/**
 * For adapters: validates a query (throwing `InvalidArgumentError` as every store does) and copies
 * it, so a caller changing its arrays later cannot change what the store runs.
 */
export function prepareEventQuery(query: unknown, argument = 'query'): PreparedEventQuery {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new InvalidArgumentError(
      argument,
      `expected an object { items: [...] } (see EventQuery), got ${describe(query)}.`,
    );
  }
  const items: unknown = (query as EventQuery).items;
  if (!Array.isArray(items)) {
    throw new InvalidArgumentError(
      `${argument}.items`,
      `expected an array of items, got ${describe(items)}.`,
    );
  }
  if (items.length === 0) {
    throw new InvalidArgumentError(
      `${argument}.items`,
      'is empty; a query names at least one item ({ eventTypes } and/or { tags }). To read every event, use getAllEvents.',
    );
  }
  if (items.length > MAX_QUERY_ITEMS) {
    throw new InvalidArgumentError(
      `${argument}.items`,
      `holds ${items.length} items; at most ${MAX_QUERY_ITEMS} are allowed.`,
    );
  }
  const prepared: PreparedEventQueryItem[] = [];
  for (let index = 0; index < items.length; index++) {
    const name = `${argument}.items[${index}]`;
    const item: unknown = index in items ? items[index] : undefined;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InvalidArgumentError(
        name,
        `expected an object { eventTypes?, tags? }, got ${describe(item)}.`,
      );
    }
    for (const key of Object.keys(item)) {
      if (key !== 'eventTypes' && key !== 'tags') {
        throw new InvalidArgumentError(
          `${name}.${key}`,
          'is not a field of a query item (it takes eventTypes, tags).',
        );
      }
    }
    const { eventTypes, tags } = item as EventQueryItem;
    if (eventTypes === undefined && tags === undefined) {
      throw new InvalidArgumentError(
        name,
        'names neither eventTypes nor tags; an item selects by at least one of them.',
      );
    }
    if (eventTypes !== undefined) {
      if (!Array.isArray(eventTypes) || eventTypes.length === 0) {
        throw new InvalidArgumentError(
          `${name}.eventTypes`,
          'expected a non-empty array of event types, or leave it out.',
        );
      }
      for (const type of eventTypes) assertEventType(type);
    }
    if (tags !== undefined) assertTagList(tags, `${name}.tags`);
    prepared.push({ eventTypes: eventTypes && [...eventTypes], tags: tags && [...tags] });
  }
  return { items: prepared };
}

/** What an event offers to a query: its type, tags and stream id (which counts as a tag). */
export interface QueryableEvent {
  readonly type: string;
  readonly streamId: string;
  readonly tags?: readonly string[];
}

/**
 * For adapters that filter in process: whether `event` matches a query (validated first with
 * {@link prepareEventQuery}). An event carries a tag when its `tags` hold it or its stream id
 * equals it.
 */
export function matchesEventQuery(event: QueryableEvent, query: EventQuery | PreparedEventQuery): boolean {
  return query.items.some(
    (item) =>
      (item.eventTypes === undefined || item.eventTypes.includes(event.type)) &&
      (item.tags === undefined ||
        item.tags.every((tag) => tag === event.streamId || (event.tags?.includes(tag) ?? false))),
  );
}

/** A condition checked by {@link prepareAppendCondition}. */
export interface PreparedAppendCondition {
  readonly query: PreparedEventQuery;
  /** `0n` when the condition left it out: every matching event fails it. */
  readonly afterPosition: Position;
  /** The condition as the caller gave it, for the error. */
  readonly condition: AppendCondition;
}

/**
 * For adapters: validates an append condition (throwing `InvalidArgumentError`) and resolves the
 * default `afterPosition` (`0n`: no matching event may exist at all).
 */
export function prepareAppendCondition(condition: unknown, argument = 'condition'): PreparedAppendCondition {
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) {
    throw new InvalidArgumentError(
      argument,
      `expected an object { failIfEventsMatch, afterPosition? }, got ${describe(condition)}.`,
    );
  }
  for (const key of Object.keys(condition)) {
    if (key !== 'failIfEventsMatch' && key !== 'afterPosition') {
      throw new InvalidArgumentError(
        `${argument}.${key}`,
        'is not a field of an append condition (it takes failIfEventsMatch, afterPosition).',
      );
    }
  }
  const { failIfEventsMatch, afterPosition } = condition as AppendCondition;
  const query = prepareEventQuery(failIfEventsMatch, `${argument}.failIfEventsMatch`);
  if (afterPosition !== undefined) assertPosition(afterPosition, `${argument}.afterPosition`);
  return {
    query,
    afterPosition: afterPosition ?? 0n,
    condition: { failIfEventsMatch, afterPosition },
  };
}
