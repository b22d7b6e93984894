import type { DomainEvent, EventRegistry, Position, StoredEvent } from '@es/core';
import { EVENT_COLUMNS, type EventRow, toStoredEvent } from './event-rows.js';
import type { StoreNames } from './identifiers.js';
import { toPosition, VISIBLE_BOUND_SQL } from './position.js';
import type { SqlQuery, SqlSession } from './sql-executor.js';

/** The resolved options of one `getAllEvents` call. */
export interface ReadAllPlan {
  readonly batchSize: number;
  readonly eventTypes: ReadonlySet<string> | undefined;
  readonly toPosition: Position | undefined;
  readonly signal?: AbortSignal;
}

/**
 * One batch of the global log after `cursor`: keyset pagination on the primary key (never OFFSET).
 * The inner query takes the next `batchSize` rows in position order (an index range scan that
 * stops after `batchSize` rows); the outer filter keeps those below the visible bound, which are a
 * prefix of them. The bound is applied outside on purpose: as an index condition next to
 * `position > $1`, the planner estimates the range at 0.5% of the table and may choose a bitmap
 * scan plus sort that reads every remaining row for each batch.
 */
export function readAllQuery(names: StoreNames, plan: ReadAllPlan, cursor: Position): SqlQuery {
  const values: unknown[] = [cursor.toString(), plan.batchSize];
  const conditions = ['position > $1'];
  let variant = 'all';
  if (plan.toPosition !== undefined) {
    values.push(plan.toPosition.toString());
    conditions.push(`position <= $${values.length}`);
    variant += '-to';
  }
  if (plan.eventTypes) {
    values.push([...plan.eventTypes]);
    conditions.push(`type = ANY($${values.length}::text[])`);
    variant += '-types';
  }
  return {
    name: `es-read-${variant}:${names.qualifiedTable}`,
    text: `SELECT ${EVENT_COLUMNS} FROM (
             SELECT ${EVENT_COLUMNS} FROM ${names.qualifiedTable}
             WHERE ${conditions.join(' AND ')} ORDER BY position LIMIT $2) page
           WHERE position < ${VISIBLE_BOUND_SQL} ORDER BY position`,
    values,
  };
}

/**
 * Streams the global log in batches of `plan.batchSize`: at most one batch is held in memory, and
 * each batch is fetched only when the previous one has been consumed. Events committed while the
 * iteration runs are returned too. `wrap` turns a driver error into the store's typed error.
 */
export async function* readAllBatches<E extends DomainEvent>(
  session: SqlSession,
  names: StoreNames,
  plan: ReadAllPlan,
  fromPosition: Position,
  registry: EventRegistry<DomainEvent> | undefined,
  wrap: (error: unknown) => unknown,
): AsyncGenerator<StoredEvent<E>> {
  let cursor = fromPosition;
  for (;;) {
    plan.signal?.throwIfAborted();
    let rows: EventRow[];
    try {
      rows = await session.query<EventRow>(readAllQuery(names, plan, cursor));
    } catch (error) {
      throw wrap(error);
    }
    const last = rows[rows.length - 1];
    if (last) cursor = toPosition(last.position);
    for (const row of rows) yield toStoredEvent<E>(row, registry);
    // A short batch means the end of the log, or of its visible part: stop until called again.
    if (rows.length < plan.batchSize) return;
  }
}
