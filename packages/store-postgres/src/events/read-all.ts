import type { DomainEvent, EventRegistry, Position, StoredEvent } from '@es/core';
import type { SqlQuery, SqlSession } from '../connection/sql-executor.js';
import type { StoreNames } from '../schema/identifiers.js';
import { EVENT_COLUMNS, type EventRow, eventDecoder } from './event-rows.js';
import { toPosition, visibleBoundSql } from './position.js';

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
  let source = `SELECT ${EVENT_COLUMNS} FROM ${names.qualifiedTable}
                WHERE ${conditions.join(' AND ')} ORDER BY position LIMIT $2`;
  if (plan.eventTypes) {
    // One ordered range of the (type, position) index per type, each stopped by the batch size,
    // then merged: `type = ANY(...)` does not walk that index in position order, so for a rare
    // type it read every later match (growing with the table) to return one batch. Each type is a
    // parameter of its own, so the custom plan sees its statistics (see getEventsByType).
    const first = values.length + 1;
    const ranges = [...plan.eventTypes].map((type, index) => {
      values.push(type);
      return `(SELECT ${EVENT_COLUMNS} FROM ${names.qualifiedTable}
               WHERE ${conditions.join(' AND ')} AND type = $${first + index}
               ORDER BY position LIMIT $2)`;
    });
    source = `SELECT * FROM (${ranges.join(' UNION ALL ')}) ranges ORDER BY position LIMIT $2`;
    variant += '-types';
  }
  return {
    rowMode: 'array',
    // Filtered by type: unnamed, so each batch gets a custom plan that knows the type's frequency.
    name: plan.eventTypes ? undefined : `es-read-${variant}:${names.qualifiedTable}`,
    text: `SELECT ${EVENT_COLUMNS} FROM (${source}) page
           WHERE position < ${visibleBoundSql(names)} ORDER BY position`,
    values,
  };
}

/**
 * Streams the global log in batches of `plan.batchSize`: at most one batch is held in memory, and
 * each batch is fetched only when the previous one has been consumed, so events committed while
 * the iteration runs are returned too. `wrap` turns a driver error into the store's typed error.
 * A hand-written iterator rather than an async generator: it hands out buffered events without
 * the generator's per-event scheduling, which showed on 100,000-event reads.
 */
export function readAllBatches<E extends DomainEvent>(
  session: SqlSession,
  names: StoreNames,
  plan: ReadAllPlan,
  fromPosition: Position,
  registry: EventRegistry<DomainEvent> | undefined,
  wrap: (error: unknown) => unknown,
): AsyncIterable<StoredEvent<E>> {
  return {
    [Symbol.asyncIterator]: () => new BatchReader<E>(session, names, plan, fromPosition, registry, wrap),
  };
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

class BatchReader<E extends DomainEvent> implements AsyncIterator<StoredEvent<E>, undefined> {
  #rows: readonly EventRow[] = [];
  // Made with each batch (see eventDecoder).
  #decode: ((row: EventRow) => StoredEvent<E>) | undefined;
  #index = 0;
  #cursor: Position;
  #exhausted = false;

  constructor(
    private readonly session: SqlSession,
    private readonly names: StoreNames,
    private readonly plan: ReadAllPlan,
    fromPosition: Position,
    private readonly registry: EventRegistry<DomainEvent> | undefined,
    private readonly wrap: (error: unknown) => unknown,
  ) {
    this.#cursor = fromPosition;
  }

  next(): Promise<IteratorResult<StoredEvent<E>, undefined>> {
    if (this.#index < this.#rows.length) {
      try {
        return Promise.resolve({ value: this.#take(), done: false });
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#fetch();
  }

  async return(): Promise<IteratorResult<StoredEvent<E>, undefined>> {
    this.#exhausted = true;
    this.#rows = [];
    return DONE;
  }

  #take(): StoredEvent<E> {
    return this.#decode!(this.#rows[this.#index++]!);
  }

  async #fetch(): Promise<IteratorResult<StoredEvent<E>, undefined>> {
    if (this.#exhausted) return DONE;
    this.plan.signal?.throwIfAborted();
    let rows: EventRow[];
    try {
      rows = await this.session.query<EventRow>(readAllQuery(this.names, this.plan, this.#cursor));
    } catch (error) {
      throw this.wrap(error);
    }
    // A short batch means the end of the log, or of its visible part: stop until called again.
    if (rows.length < this.plan.batchSize) this.#exhausted = true;
    const last = rows[rows.length - 1];
    if (!last) return DONE;
    this.#cursor = toPosition(last[3]);
    this.#rows = rows;
    this.#decode = eventDecoder<E>(this.registry);
    this.#index = 0;
    return { value: this.#take(), done: false };
  }
}
