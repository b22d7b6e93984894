import type { PreparedAppend } from '@es/core/adapter';
import { quoteIdentifier, type StoreNames } from '../schema/identifiers.js';
import { encodeExpected } from './append.js';
import { batchLockKeys, MAX_INLINE_WRITER_KEYS, writerLocksSql } from './dcb-sql.js';
import { CLUSTER_ID_SQL, currentEraSql, INT32_MAX, POSITION_INDEX_BITS } from './position.js';

// The SQL of write coalescing (migration 009) and the parameters of one batch; the coalescer
// (coalescer.ts) decides what goes into a batch and answers its callers.

/** A named statement: prepared once per connection by the driver. */
interface Statement {
  readonly name: string;
  readonly text: string;
}

/** The statements of {@link coalescedStatements}. */
export interface CoalescedStatements {
  readonly batch: Statement;
  /** The fast path with its writer locks computed in the statement (up to 64 tags and types). */
  readonly fast: Statement;
  /** The fast path taking its locks through migration 009's lock function (more tags and types). */
  readonly fastManyKeys: Statement;
}

/**
 * Whether every append of `batch` takes migration 009's fast path: one event, an exact expected
 * version (whose next version fits the integer column), no caller-chosen ids, and a stream no
 * other append of the batch writes.
 */
export function isFastBatch(batch: readonly PreparedAppend[]): boolean {
  const streams = new Set<string>();
  for (const append of batch) {
    if (append.events.length !== 1 || append.mayBeRetry || streams.has(append.streamId)) return false;
    const expected = encodeExpected(append.expectedVersion);
    if (expected < 0 || expected >= INT32_MAX) return false;
    streams.add(append.streamId);
  }
  return true;
}

/**
 * The two statements of a coalesced batch for one table: `batch` calls migration 009's
 * `<table>_append_coalesced` (any appends), `fast` is its fast path as one INSERT (a batch for
 * which {@link isFastBatch} holds).
 */
export function coalescedStatements(names: StoreNames): CoalescedStatements {
  const fn = `${quoteIdentifier(names.schema)}.${quoteIdentifier(`${names.table}_append_coalesced`)}`;
  const batch = {
    name: `es-append-coalesced:${fn}`,
    text: `SELECT o_kind, o_append, o_stream_version, o_event_id, o_version, o_position, o_stream_id
           FROM ${fn}($1::text[], $2::bigint[], $3::boolean[], $4::integer[], $5::integer[], $6::uuid[],
                      $7::text[], $8::integer[], $9::jsonb[], $10::jsonb[], $11::integer[], $12::text[])`,
  };
  const table = names.qualifiedTable;
  const lockBatch = `${quoteIdentifier(names.schema)}.${quoteIdentifier(`${names.table}_lock_batch`)}`;
  // A batch of fast-path appends only (see isFastBatch): migration 009's fast path as one statement,
  // without the function's checks and bookkeeping. The locks (an uncorrelated sub-query, evaluated
  // once before any row is inserted) are the single INSERT's, for the whole batch in key order;
  // positions count from the current era's offset, and only while that era is this cluster's
  // (otherwise nothing is written, and each append goes to the append function, which opens an
  // era). Rows are inserted in stream id order, so two batches meet on the unique index in one
  // order; a row the index or the probe refuses is simply not returned.
  const fastStatement = (name: string, locks: string) => ({
    name: `${name}:${table}`,
    text: `INSERT INTO ${table} (position, stream_id, version, event_id, event_id_supplied, type, schema_version,
                                 data, metadata, created_at, tags)
           SELECT era.position_offset + (SELECT pg_current_xact_id()::text::bigint << ${POSITION_INDEX_BITS}) + x.n - 1,
                  x.s, x.e + 1, x.id, false, x.ty, x.sv, x.d, x.m, now(),
                  CASE WHEN x.tc = 0 THEN '{}'::text[] ELSE ($8::text[])[x.ts + 1 : x.ts + x.tc] END
           FROM ${currentEraSql(names)} era,
                unnest($1::text[], $2::integer[], $3::uuid[], $4::text[], $5::integer[], $6::jsonb[], $7::jsonb[],
                       $9::integer[], $10::integer[]) WITH ORDINALITY AS x(s, e, id, ty, sv, d, m, ts, tc, n)
                LEFT JOIN LATERAL (SELECT 1 AS hit FROM ${table} p
                                   WHERE p.stream_id = x.s AND p.version = x.e LIMIT 1) probe ON true
           WHERE era.system_id = ${CLUSTER_ID_SQL} AND (x.e = 0 OR probe.hit IS NOT NULL)
             AND ${locks}
           ORDER BY x.s
           ON CONFLICT DO NOTHING
           RETURNING stream_id, position`,
  });
  // The same keys either way (SHARED on every stream, tag and type, and on the coarse condition
  // key): in plain SQL while they fit (a PL/pgSQL call per batch cost as it did for the single
  // append, see writerLocksSql), through the function past 64 tags and types, which then takes
  // the coarse writer key EXCLUSIVE instead.
  const fast = fastStatement('es-append-fast', writerLocksSql(names, '$1', '$8', '$4', true));
  const fastManyKeys = fastStatement(
    'es-append-fast-many',
    `(SELECT ${lockBatch}('{}'::text[], $1::text[], $8::text[], $4::text[]))`,
  );
  return { batch, fast, fastManyKeys };
}

/**
 * The fast statement for a batch of fast-path appends (the one with inline locks unless its tags
 * and types are too many), with its parameters, one array per column.
 */
export function fastBatchQuery(statements: CoalescedStatements, batch: readonly PreparedAppend[]) {
  const size = batch.length;
  const streams = new Array<string>(size);
  const expected = new Array<number>(size);
  const ids = new Array<string>(size);
  const types = new Array<string>(size);
  const schemaVersions = new Array<number>(size);
  const data = new Array<string>(size);
  const metadata = new Array<string>(size);
  const tagStarts = new Array<number>(size);
  const tagCounts = new Array<number>(size);
  const tags: string[] = [];
  for (let index = 0; index < size; index++) {
    const append = batch[index]!;
    const event = append.events[0]!;
    streams[index] = append.streamId;
    expected[index] = encodeExpected(append.expectedVersion);
    ids[index] = event.eventId;
    types[index] = event.type;
    schemaVersions[index] = event.schemaVersion;
    data[index] = JSON.stringify(event.data);
    metadata[index] = JSON.stringify(event.metadata);
    tagStarts[index] = tags.length;
    tagCounts[index] = event.tags.length;
    for (const tag of event.tags) tags.push(tag);
  }
  // The same count the single append checks (see insertAtExactVersion): distinct tags and types.
  const locks = batchLockKeys(batch.map((append) => append.events[0]!));
  const lockKeys = locks.tags.length + locks.types.length;
  return {
    ...(lockKeys > MAX_INLINE_WRITER_KEYS ? statements.fastManyKeys : statements.fast),
    values: [streams, expected, ids, types, schemaVersions, data, metadata, tags, tagStarts, tagCounts],
  };
}

/** The batch function's parameters: one array per column, so the server reads each value once. */
export function batchQuery(statement: Statement, batch: readonly PreparedAppend[]) {
  const size = batch.length;
  const streams = new Array<string>(size);
  const expected = new Array<number>(size);
  const checkIds = new Array<boolean>(size);
  const counts = new Array<number>(size);
  const previous = new Array<number>(size);
  const ids: string[] = [];
  const types: string[] = [];
  const schemaVersions: number[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  const tagCounts: number[] = [];
  const tags: string[] = [];
  const lastIndex = new Map<string, number>();
  for (let index = 0; index < size; index++) {
    const append = batch[index]!;
    streams[index] = append.streamId;
    expected[index] = encodeExpected(append.expectedVersion);
    checkIds[index] = append.mayBeRetry;
    counts[index] = append.events.length;
    previous[index] = lastIndex.get(append.streamId) ?? 0;
    lastIndex.set(append.streamId, index + 1);
    for (const event of append.events) {
      ids.push(event.eventId);
      types.push(event.type);
      schemaVersions.push(event.schemaVersion);
      data.push(JSON.stringify(event.data));
      metadata.push(JSON.stringify(event.metadata));
      tagCounts.push(event.tags.length);
      for (const tag of event.tags) tags.push(tag);
    }
  }
  return {
    ...statement,
    values: [
      streams,
      expected,
      checkIds,
      counts,
      previous,
      ids,
      types,
      schemaVersions,
      data,
      metadata,
      tagCounts,
      tags,
    ],
  };
}
