// The global log survives moving an embedded database to another PGlite instance (another cluster:
// its own system identifier and transaction counter), copied row by row as a logical dump would.
// The server-side moves (pg_dump, pg_upgrade, a promoted logical replica) are in
// cluster-move.int.test.ts.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrate } from '../src/schema/migrate.js';
import { expectLogContinues, SCHEMA, writeHistory } from './log-continuity.js';

/** Copies every row of `table` from one instance to the other, as JSON: exactly as stored. */
async function copyTable(from: PGlite, to: PGlite, table: string): Promise<void> {
  const { rows } = await from.query<{ row: unknown }>(
    `SELECT row_to_json(t) AS row FROM ${SCHEMA}.${table} t`,
  );
  for (const { row } of rows) {
    await to.query(
      `INSERT INTO ${SCHEMA}.${table} SELECT * FROM json_populate_record(NULL::${SCHEMA}.${table}, $1)`,
      [JSON.stringify(row)],
    );
  }
}

describe('the global log after moving an embedded database to another PGlite instance', () => {
  let source: PGlite;
  let target: PGlite;

  beforeAll(async () => {
    [source, target] = await Promise.all([PGlite.create(), PGlite.create()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([source?.close(), target?.close()]);
  });

  it('keeps every event in order, appends after them, and resumes a follower', async () => {
    // The source has run for a while: its transaction ids are far ahead of a fresh instance's.
    await source.exec(
      'DO $$ BEGIN FOR i IN 1..2000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$',
    );
    const { before, checkpoint } = await writeHistory(source);

    // The target gets the schema from migrate() before any data, then the rows.
    await migrate({ connection: target, schema: SCHEMA });
    for (const table of ['events', 'events_eras']) await copyTable(source, target, table);
    const { rows } = await target.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
    expect(BigInt(rows[0]!.xid) << 16n).toBeLessThan(before[0]!.position);

    await expectLogContinues(target, before, checkpoint);
  }, 60_000);
});
