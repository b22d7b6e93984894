import { assertEventType, assertStreamId, assertTag, type PreparedEventQuery } from '@es/core/adapter';
import type { Filter } from 'mongodb';
import { toBsonInteger, toBsonPosition } from './bson-values.js';
import type { EventDocument } from './event-document.js';

// Every filter the event store sends is built here. Stream ids and event types are checked to be
// strings and compared with `$eq` / `$in`, so a value such as `{ $gt: '' }` can never act as a
// query operator (invariant 5 in docs/invariants.md), even if a caller bypasses TypeScript.

/** The index (migration 001) that serves reads by event type in position order. */
export const TYPE_POSITION_INDEX = 'type_position';

/** The multikey index (migration 008) that serves query items with tags, in position order. */
export const TAGS_POSITION_INDEX = 'tags_position';

/** Events of one stream with `fromVersion < version <= toVersion`. */
export function streamFilter(
  streamId: string,
  fromVersion: number,
  toVersion?: number,
): Filter<EventDocument> {
  assertStreamId(streamId);
  const version: Record<string, unknown> = { $gt: toBsonInteger(fromVersion) };
  if (toVersion !== undefined) version.$lte = toBsonInteger(toVersion);
  return { streamId: { $eq: streamId }, version } as Filter<EventDocument>;
}

/** All events of one stream (sorted by version descending, its first match is the stream head). */
export function wholeStreamFilter(streamId: string): Filter<EventDocument> {
  assertStreamId(streamId);
  return { streamId: { $eq: streamId } };
}

/**
 * The events, in any stream, whose ids are among `eventIds` and were chosen by a caller (served by
 * the `event_id` index of migration 005): a copy in the appending stream makes a retry, one
 * elsewhere a conflict. Ids the store made (`idSupplied: false`) are not looked up, as PostgreSQL
 * and the in-memory store do not track them; documents without the field count as caller-chosen.
 */
export function eventIdsAnywhereFilter(eventIds: readonly string[]): Filter<EventDocument> {
  for (const eventId of eventIds) assertStreamId(eventId, 'event id');
  return { eventId: { $in: [...eventIds] }, idSupplied: { $ne: false } };
}

/** The global log after `afterPosition`, optionally up to `toPosition` and of some types only. */
export function globalLogFilter(
  afterPosition: bigint,
  toPosition?: bigint,
  eventTypes?: ReadonlySet<string> | readonly string[],
): Filter<EventDocument> {
  const position: Record<string, unknown> = { $gt: toBsonPosition(afterPosition) };
  if (toPosition !== undefined) position.$lte = toBsonPosition(toPosition);
  const filter: Record<string, unknown> = { _id: position };
  if (eventTypes !== undefined) filter.type = typesCondition(eventTypes);
  return filter as Filter<EventDocument>;
}

/** Events of the given types committed at or after `since`, after a position (served by `type_position`). */
export function byTypeFilter(
  eventTypes: ReadonlySet<string> | readonly string[],
  since: Date,
  afterPosition: bigint,
): Filter<EventDocument> {
  return {
    type: typesCondition(eventTypes),
    _id: { $gt: toBsonPosition(afterPosition) },
    timestamp: { $gte: since },
  } as Filter<EventDocument>;
}

function typesCondition(eventTypes: ReadonlySet<string> | readonly string[]): { $in: string[] } {
  const types = [...eventTypes];
  for (const type of types) assertEventType(type);
  return { $in: types };
}

/**
 * The events matching a query (dynamic consistency boundaries) with `afterPosition < _id`, and
 * `_id <= toPosition` when given: one top-level `$or` of conjunctions, each bounded by position so
 * that every branch is an index range (`tags_position`, `type_position`, `stream_version`).
 *
 * An item with types only is `{ type: { $in } }`. An item with tags `t1..tk` matches an event
 * whose stored tags hold all of them, or whose stream id is one `ti` and whose stored tags hold the
 * others (the stream id counts as a tag, and a stream id stands for at most one of the item's
 * tags): k + 1 branches, each with the item's types when it has them. `$all: []` matches nothing
 * in MongoDB, so the branch of a one-tag item's stream id is the stream id alone.
 */
export function eventQueryFilter(
  query: PreparedEventQuery,
  afterPosition: bigint,
  toPosition?: bigint,
): Filter<EventDocument> {
  const position: Record<string, unknown> = { $gt: toBsonPosition(afterPosition) };
  if (toPosition !== undefined) position.$lte = toBsonPosition(toPosition);
  const branches: Record<string, unknown>[] = [];
  for (const item of query.items) {
    const types = item.eventTypes === undefined ? {} : { type: typesCondition(item.eventTypes) };
    if (item.tags === undefined) {
      branches.push({ ...types, _id: position });
      continue;
    }
    const tags = [...item.tags];
    for (const tag of tags) assertTag(tag);
    branches.push({ ...types, tags: { $all: tags }, _id: position });
    tags.forEach((streamId, index) => {
      const others = tags.filter((_, other) => other !== index);
      branches.push({
        ...types,
        streamId: { $eq: streamId },
        ...(others.length > 0 ? { tags: { $all: others } } : {}),
        _id: position,
      });
    });
  }
  return { $or: branches } as Filter<EventDocument>;
}
