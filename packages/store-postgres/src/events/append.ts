import {
  type AppendResult,
  ConcurrencyConflictError,
  ExpectedVersion,
  type ExpectedVersionValue,
  expectedVersionMismatch,
  InvalidArgumentError,
  MAX_BATCH_SIZE,
} from '@es/core';
import { type PreparedAppend, resolveRetriedAppend } from '@es/core/adapter';
import { sqlState } from '../connection/driver-errors.js';
import type { SqlSession } from '../connection/sql-executor.js';
import type { StoreNames } from '../schema/identifiers.js';
import { batchLockKeys, MAX_INLINE_WRITER_KEYS, writerLocksSql } from './dcb-sql.js';
import { CLUSTER_ID_SQL, currentEraSql, INT32_MAX, POSITION_INDEX_BITS, toPosition } from './position.js';

/** What the append function (migration 001) returns, one row or one per already-stored event id. */
export interface AppendRow {
  readonly o_kind: 'appended' | 'conflict' | 'found' | 'condition_failed';
  readonly o_stream_version: number;
  readonly o_event_id: string | null;
  readonly o_version: number | null;
  readonly o_position: string | number | bigint | null;
  readonly o_stream_id: string | null;
}

const UNIQUE_VIOLATION = '23505';

/** The append functions' encoding of the expected version: >= 0 exact, -1 any, -2 stream exists. */
export function encodeExpected(expected: ExpectedVersionValue): number {
  if (typeof expected === 'number') return expected;
  if (expected === ExpectedVersion.Any) return -1;
  if (expected === ExpectedVersion.StreamExists) return -2;
  return 0;
}

/**
 * Appends a prepared batch, in one round trip unless it is refused or retried. An exact expected
 * version (a number, or `NoStream`: 0) takes one INSERT statement whose unique index on
 * (stream_id, version) decides races. The modes `Any` and `StreamExists`, and an exact-version
 * batch the INSERT did not write (a conflict, a retried batch), go to the append function of
 * migrations 001/004, which checks the expected version and the event ids under a per-stream lock
 * and says exactly what happened. Nothing is written unless the whole batch is. Notifications are
 * left to the caller (the store announces appends after commit, see `AppendAnnouncer`).
 */
export async function appendPrepared(
  session: SqlSession,
  names: StoreNames,
  append: PreparedAppend,
): Promise<AppendResult> {
  // prepareAppend refused a longer batch already; the position layout cannot hold one either.
  if (append.events.length > MAX_BATCH_SIZE || MAX_BATCH_SIZE > 2 ** POSITION_INDEX_BITS) {
    throw new InvalidArgumentError(
      'events',
      `an append holds at most ${MAX_BATCH_SIZE} events (got ${append.events.length}); split the batch.`,
    );
  }
  const expected = encodeExpected(append.expectedVersion);
  // The events as one JSON array, made at most once: a refused batch goes on to the function.
  let json: string | undefined;
  const payload = () => (json ??= eventsPayload(append));
  // Versions are `integer` columns: an expected version past what the batch can reach goes to the
  // function (a bigint parameter), which reports the conflict instead of an overflow.
  if (expected >= 0 && expected + append.events.length <= INT32_MAX) {
    const appended = await insertAtExactVersion(session, names, append, expected, payload);
    if (appended) return appended;
  }
  return appendWithFunction(session, names, append, expected, payload);
}

/**
 * The common case in one statement, without a lock: the batch becomes versions expected + 1 ..
 * expected + n if version `expected` exists (or is 0), and the unique index on (stream_id, version)
 * refuses it when another writer got there first, waiting for that writer's commit or rollback.
 * Returns undefined when the batch was not written (stream behind or ahead, a caller-chosen id
 * already stored, or the database moved to another cluster since the current era began) or writes
 * more tags and types than the inline writer locks take: the append function then writes it,
 * reports exactly why not, or recognises a retry.
 */
async function insertAtExactVersion(
  session: SqlSession,
  names: StoreNames,
  append: PreparedAppend,
  expected: number,
  payload: () => string,
): Promise<AppendResult | undefined> {
  const { events } = append;
  const single = events.length === 1 ? events[0] : undefined;
  const statements = statementsFor(names);
  const locks = batchLockKeys(events);
  // Past that many keys the locks are one coarse EXCLUSIVE key: the append function takes it.
  if (locks.tags.length + locks.types.length > MAX_INLINE_WRITER_KEYS) return undefined;
  try {
    const rows = await session.query<{ position: string | number | bigint | null }>(
      single
        ? {
            name: statements.insertOne.name,
            text: statements.insertOne.text,
            values: [
              append.streamId,
              expected,
              single.eventId,
              append.mayBeRetry,
              single.type,
              single.schemaVersion,
              JSON.stringify(single.data),
              JSON.stringify(single.metadata),
              locks.tags,
              locks.types,
            ],
          }
        : {
            name: statements.insertMany.name,
            text: statements.insertMany.text,
            values: [append.streamId, expected, payload(), append.mayBeRetry, locks.tags, locks.types],
          },
    );
    const position = rows[0]?.position;
    if (position === undefined || position === null) return undefined;
    return { nextVersion: expected + events.length, lastPosition: toPosition(position) };
  } catch (error) {
    if (sqlState(error) === UNIQUE_VIOLATION) return undefined;
    throw error;
  }
}

interface AppendStatements {
  readonly insertOne: { readonly name: string; readonly text: string };
  readonly insertMany: { readonly name: string; readonly text: string };
  readonly callFunction: { readonly name: string; readonly text: string };
}

// Built once per table: an append is on every hot path, and the driver compares the text of a
// named statement with the one it prepared on each call.
const statementCache = new WeakMap<StoreNames, AppendStatements>();

function statementsFor(names: StoreNames): AppendStatements {
  const cached = statementCache.get(names);
  if (cached) return cached;
  const table = names.qualifiedTable;
  const columns = `(position, stream_id, version, event_id, event_id_supplied, type, schema_version, data,
                    metadata, created_at, tags)`;
  // True when stream $1 has reached version $2 (always for 0). With the insert of version $2 + 1,
  // which the unique index refuses if it exists, the stream is then at exactly $2. Versions are
  // never removed, so a version seen once stays.
  const expectedVersionExists = `($2::integer = 0 OR EXISTS (SELECT 1 FROM ${table} e
                                   WHERE e.stream_id = $1 AND e.version = $2::integer))`;
  // Positions count from the current era's offset (migration 005), and only while that era is this
  // cluster's. After a move to another cluster the INSERT writes nothing and the append function
  // opens a new era first.
  const eraIsThisClusters = `era.system_id = ${CLUSTER_ID_SQL}`;
  const firstPosition = `era.position_offset + (SELECT pg_current_xact_id()::text::bigint << ${POSITION_INDEX_BITS})`;
  const statements: AppendStatements = {
    insertOne: {
      name: `es-append-one:${table}`,
      text: `INSERT INTO ${table} ${columns}
             SELECT ${firstPosition}, $1::text, $2::integer + 1,
                    $3::uuid, $4::boolean, $5::text, $6::integer, $7::jsonb, $8::jsonb, now(), $9::text[]
             FROM ${currentEraSql(names)} era
             WHERE ${eraIsThisClusters} AND ${expectedVersionExists} AND ${writerLocksSql(names, '$1', '$9', '$10')}
             RETURNING position`,
    },
    insertMany: {
      name: `es-append-many:${table}`,
      text: `WITH appended AS (
               INSERT INTO ${table} ${columns}
               SELECT ${firstPosition} + x.n - 1,
                      $1::text, $2::integer + x.n::integer, (x.e ->> 'id')::uuid, $4::boolean, x.e ->> 'type',
                      (x.e ->> 'sv')::integer, x.e -> 'data', x.e -> 'meta', now(),
                      ARRAY(SELECT jsonb_array_elements_text(x.e -> 'tags'))
               FROM ${currentEraSql(names)} era, jsonb_array_elements($3::jsonb) WITH ORDINALITY AS x(e, n)
               WHERE ${eraIsThisClusters} AND ${expectedVersionExists} AND ${writerLocksSql(names, '$1', '$5', '$6')}
               RETURNING position)
             SELECT max(position) AS position FROM appended`,
    },
    callFunction: {
      name: `es-append:${names.appendFunction}`,
      text: `SELECT o_kind, o_stream_version, o_event_id, o_version, o_position, o_stream_id
             FROM ${names.appendFunction}($1, $2, $3, $4::jsonb, false)`,
    },
  };
  statementCache.set(names, statements);
  return statements;
}

/** The batch as the append functions take it (migrations 001, 005, 007); `tags` only when some. */
export function eventsPayload(append: PreparedAppend): string {
  return JSON.stringify(
    append.events.map((event) => ({
      id: event.eventId,
      type: event.type,
      sv: event.schemaVersion,
      data: event.data,
      meta: event.metadata,
      tags: event.tags.length > 0 ? event.tags : undefined,
    })),
  );
}

/** Any expected-version mode, retries and conflicts: the append function, under a per-stream lock. */
async function appendWithFunction(
  session: SqlSession,
  names: StoreNames,
  append: PreparedAppend,
  expected: number,
  payload: () => string,
): Promise<AppendResult> {
  const query = {
    ...statementsFor(names).callFunction,
    values: [append.streamId, expected, append.mayBeRetry, payload()],
  };
  // A unique index can still fire inside the function: an exact-version insert (which takes no
  // lock) or another stream stored a version or an event id meanwhile, or the session runs at
  // REPEATABLE READ. Each new attempt sees what is stored. With an exact version the second attempt
  // reports the conflict; `Any` and `StreamExists` retry more often, since they can still win.
  const attempts = expected >= 0 ? 2 : 16;
  for (let attempt = 1; ; attempt++) {
    try {
      return interpret(append, await session.query<AppendRow>(query));
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      if (attempt < attempts) continue;
      throw new ConcurrencyConflictError(
        append.streamId,
        append.expectedVersion,
        await streamVersion(session, names, append.streamId),
        'concurrent writers kept storing the same versions or event ids; reload and retry',
        { cause: error },
      );
    }
  }
}
/** Maps the rows of an append function to the result, or to the error it reports. */
export function interpret(append: PreparedAppend, rows: readonly AppendRow[]): AppendResult {
  const first = rows[0];
  if (!first) throw new TypeError('The append function returned no row.');
  const actual = first.o_stream_version;
  if (first.o_kind === 'appended') {
    return { nextVersion: actual, lastPosition: toPosition(first.o_position) };
  }
  if (first.o_kind === 'conflict') {
    throw new ConcurrencyConflictError(
      append.streamId,
      append.expectedVersion,
      actual,
      expectedVersionMismatch(append.expectedVersion, actual),
    );
  }
  const elsewhere = rows.find((row) => row.o_stream_id !== append.streamId);
  if (elsewhere) {
    throw new ConcurrencyConflictError(
      append.streamId,
      append.expectedVersion,
      actual,
      `event id ${elsewhere.o_event_id} is already stored in another stream; event ids chosen by callers are unique across the store`,
    );
  }
  const found = rows.map((row) => ({
    eventId: row.o_event_id!,
    version: row.o_version!,
    position: toPosition(row.o_position),
  }));
  const original = resolveRetriedAppend(append, found, actual);
  if (!original) throw new TypeError('The append function reported stored event ids but returned none.');
  return original;
}

/** The stream's version: the version of its last event, 0 when it has none. */
export async function streamVersion(
  session: SqlSession,
  names: StoreNames,
  streamId: string,
): Promise<number> {
  const rows = await session.query<{ version: number }>({
    name: `es-version:${names.qualifiedTable}`,
    text: `SELECT coalesce(max(version), 0) AS version FROM ${names.qualifiedTable} WHERE stream_id = $1`,
    values: [streamId],
  });
  return rows[0]?.version ?? 0;
}
