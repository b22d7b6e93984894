import {
  type AppendResult,
  ConcurrencyConflictError,
  ExpectedVersion,
  type ExpectedVersionValue,
  expectedVersionMismatch,
  InvalidArgumentError,
  type PreparedAppend,
  resolveRetriedAppend,
} from '@es/core';
import { sqlState } from './driver-errors.js';
import type { StoreNames } from './identifiers.js';
import { MAX_EVENTS_PER_APPEND, toPosition } from './position.js';
import type { SqlSession } from './sql-executor.js';

/** What the append function (migration 001) returns, one row or one per already-stored event id. */
interface AppendRow {
  readonly o_kind: 'appended' | 'conflict' | 'found';
  readonly o_stream_version: number;
  readonly o_event_id: string | null;
  readonly o_version: number | null;
  readonly o_position: string | number | bigint | null;
  readonly o_stream_id: string | null;
}

const UNIQUE_VIOLATION = '23505';

/** The append function's encoding of the expected version: >= 0 exact, -1 any, -2 stream exists. */
function encodeExpected(expected: ExpectedVersionValue): number {
  if (typeof expected === 'number') return expected;
  if (expected === ExpectedVersion.Any) return -1;
  if (expected === ExpectedVersion.StreamExists) return -2;
  return 0;
}

/**
 * Appends a prepared batch in one round trip: the database function checks the expected version
 * and the event ids under a per-stream lock, then inserts the batch, all in one transaction. The
 * function's own NOTIFY is left off (`false`): the store announces appends after commit instead
 * (see `AppendAnnouncer`).
 */
export async function appendPrepared(
  session: SqlSession,
  names: StoreNames,
  append: PreparedAppend,
): Promise<AppendResult> {
  if (append.events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidArgumentError(
      'events',
      `an append holds at most ${MAX_EVENTS_PER_APPEND} events (got ${append.events.length}); split the batch.`,
    );
  }
  const payload = JSON.stringify(
    append.events.map((event) => ({
      id: event.eventId,
      type: event.type,
      sv: event.schemaVersion,
      data: event.data,
      meta: event.metadata,
    })),
  );
  const query = {
    name: `es-append:${names.appendFunction}`,
    text: `SELECT o_kind, o_stream_version, o_event_id, o_version, o_position, o_stream_id
           FROM ${names.appendFunction}($1, $2, $3, $4::jsonb, false)`,
    values: [append.streamId, encodeExpected(append.expectedVersion), append.mayBeRetry, payload],
  };
  let rows: AppendRow[];
  try {
    rows = await session.query<AppendRow>(query);
  } catch (error) {
    // A unique index fired: another stream committed one of these event ids meanwhile, or the
    // session runs at REPEATABLE READ. Run once more: the function now sees what is stored.
    if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
    try {
      rows = await session.query<AppendRow>(query);
    } catch (again) {
      if (sqlState(again) !== UNIQUE_VIOLATION) throw again;
      throw new ConcurrencyConflictError(
        append.streamId,
        append.expectedVersion,
        await streamVersion(session, names, append.streamId),
        'a concurrent writer stored the same event ids or versions; reload and retry',
        { cause: again },
      );
    }
  }
  return interpret(append, rows);
}

function interpret(append: PreparedAppend, rows: readonly AppendRow[]): AppendResult {
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
      `event id ${elsewhere.o_event_id} is already stored in another stream; event ids are unique across the store`,
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
