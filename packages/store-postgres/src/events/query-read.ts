import type { DomainEvent, EventRegistry, Position, QueryReadResult, StoredEvent } from '@es/core';
import type { PreparedEventQuery } from '@es/core/adapter';
import type { SqlQuery, SqlSession } from '../connection/sql-executor.js';
import type { StoreNames } from '../schema/identifiers.js';
import { EVENT_COLUMNS, type EventRow, eventDecoder } from './event-rows.js';
import { toPosition, visibleBoundSql } from './position.js';

/** The largest `bigint`: `visibleBoundSql` when every stored event is final. */
const UNBOUNDED = '9223372036854775807';

/**
 * The SQL condition of a query (docs/dcb.md), its array parameters appended to `values`. An item
 * with tags T matches `tags @> T` (on the partial GIN index of migration 007, whose predicate
 * `tags <> '{}'` is repeated so the planner may use it) or, since a stream id counts as a tag,
 * `stream_id = ANY(T)` with the other tags of T in `tags` (the (stream_id, version) index). With
 * types, `type = ANY(types)` as well; an item with types only uses the (type, position) index.
 */
export function eventQuerySql(query: PreparedEventQuery, values: unknown[]): string {
  const items = query.items.map((item) => {
    const parts: string[] = [];
    if (item.eventTypes) {
      values.push(item.eventTypes);
      parts.push(`type = ANY($${values.length}::text[])`);
    }
    if (item.tags) {
      values.push(item.tags);
      const tags = `$${values.length}::text[]`;
      parts.push(
        `((tags @> ${tags} AND tags <> '{}') OR (stream_id = ANY(${tags}) AND tags @> array_remove(${tags}, stream_id)))`,
      );
    }
    return `(${parts.join(' AND ')})`;
  });
  return items.length === 1 ? items[0]! : `(${items.join(' OR ')})`;
}

/**
 * The statement of `read(query)`: the matching events after `afterPosition` in position order (at
 * most `limit`), kept only below the visibility bound of `getAllEvents`, and that bound - 1 as the
 * head of the log the read is consistent with (every event below it has committed or never will).
 * One statement, so the events and the head come from one snapshot. When every stored event is
 * final (no era of this cluster yet), the head is the largest stored position. Each row is an
 * event row (all NULL when nothing matched) followed by the head.
 */
export function queryReadStatement(
  names: StoreNames,
  query: PreparedEventQuery,
  afterPosition: Position,
  limit: number | undefined,
): SqlQuery {
  const values: unknown[] = [afterPosition.toString(), limit ?? null];
  const where = eventQuerySql(query, values);
  const table = names.qualifiedTable;
  return {
    rowMode: 'array',
    // Unnamed: each read is planned with its values (how rare a tag or a type is).
    text: `WITH bound AS MATERIALIZED (
             SELECT v.b, CASE WHEN v.b = ${UNBOUNDED} THEN (SELECT coalesce(max(position), 0) FROM ${table})
                              ELSE v.b - 1 END AS head
             FROM (SELECT ${visibleBoundSql(names)} AS b) v)
           SELECT page.*, bound.head FROM bound LEFT JOIN (
             SELECT ${EVENT_COLUMNS} FROM ${table}
             WHERE position > $1 AND ${where} ORDER BY position LIMIT $2) page ON page.position < bound.b
           ORDER BY page.position`,
    values,
  };
}

/** `EventStore.read` on PostgreSQL: see {@link queryReadStatement} for what it returns. */
export async function readByQuery<E extends DomainEvent>(
  session: SqlSession,
  names: StoreNames,
  query: PreparedEventQuery,
  afterPosition: Position,
  limit: number,
  registry: EventRegistry<DomainEvent> | undefined,
): Promise<QueryReadResult<E>> {
  const bounded = limit < Number.MAX_SAFE_INTEGER ? limit : undefined;
  const rows = await session.query<[...EventRow, unknown]>(
    queryReadStatement(names, query, afterPosition, bounded),
  );
  const events: StoredEvent<E>[] = [];
  const decode = eventDecoder<E>(registry);
  for (const row of rows) {
    if (row[0] !== null) events.push(decode(row as unknown as EventRow));
  }
  const last = events[events.length - 1];
  // Cut by the limit: the read vouches only for what it returned.
  if (last && events.length === bounded) return { events, position: last.position };
  const head = rows.length > 0 ? toPosition(rows[0]![10]) : afterPosition;
  return { events, position: head > afterPosition ? head : afterPosition };
}
