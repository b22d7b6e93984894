import {
  AppendConditionFailedError,
  type AppendResult,
  ConcurrencyConflictError,
  ExpectedVersion,
  type ExpectedVersionValue,
} from '@es/core';
import type { PreparedConditionalAppend, PreparedEventQuery } from '@es/core/adapter';
import { sqlState } from '../connection/driver-errors.js';
import type { SqlSession } from '../connection/sql-executor.js';
import type { StoreNames } from '../schema/identifiers.js';
import { type AppendRow, eventsPayload, interpret, streamVersion } from './append.js';
import { dcbFunctionNames } from './dcb-sql.js';
import { toPosition } from './position.js';

const UNIQUE_VIOLATION = '23505';

/** The append function's encoding of the expected version: >= 0 exact, -1 any, -2 stream exists. */
function encodeExpected(expected: ExpectedVersionValue): number {
  if (typeof expected === 'number') return expected;
  if (expected === ExpectedVersion.Any) return -1;
  if (expected === ExpectedVersion.StreamExists) return -2;
  return 0;
}

/** A condition as the append function of migration 007 takes it: `[{ types?, tags? }]`. */
export function conditionPayload(query: PreparedEventQuery): string {
  return JSON.stringify(query.items.map((item) => ({ types: item.eventTypes, tags: item.tags })));
}

/**
 * `EventStore.append` on PostgreSQL, in one round trip: the function of migration 007 takes the
 * append's advisory locks in key order (SHARED on what it writes, EXCLUSIVE on a key of each
 * condition item), then, each in a new snapshot, recognises a retried batch, checks the expected
 * version and the condition, and inserts. Throws `AppendConditionFailedError` with the first
 * matching position when the condition fails, writing nothing.
 */
export async function appendConditional(
  session: SqlSession,
  names: StoreNames,
  append: PreparedConditionalAppend,
): Promise<AppendResult> {
  const { condition } = append;
  const expected = encodeExpected(append.expectedVersion);
  const query = {
    name: `es-append-if:${names.qualifiedTable}`,
    text: `SELECT o_kind, o_stream_version, o_event_id, o_version, o_position, o_stream_id
           FROM ${dcbFunctionNames(names).appendIfFunction}($1, $2, $3, $4::jsonb, false, $5::jsonb, $6::bigint)`,
    values: [
      append.streamId,
      expected,
      append.mayBeRetry,
      eventsPayload(append),
      condition ? conditionPayload(condition.query) : null,
      condition ? condition.afterPosition.toString() : '0',
    ],
  };
  // A unique index can still fire inside the function: an exact-version INSERT (which takes the
  // stream's lock SHARED only) stored the version meanwhile. The next attempt sees it.
  const attempts = expected >= 0 ? 2 : 16;
  for (let attempt = 1; ; attempt++) {
    try {
      const rows = await session.query<AppendRow>(query);
      const first = rows[0];
      if (first?.o_kind === 'condition_failed' && condition) {
        throw new AppendConditionFailedError(condition.condition, toPosition(first.o_position));
      }
      return interpret(append, rows);
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
