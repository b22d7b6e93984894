import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSqlExecutor } from '../connection/connection.js';
import { migrate } from '../schema/migrate.js';
import { uniqueSchema } from '../testing/test-support.js';
import { PostgresProjectionStore } from './postgres-projection-store.js';

const db = new PGlite();
const executor = createSqlExecutor(db);
const schema = uniqueSchema('es_proj');

beforeAll(async () => {
  await migrate({ connection: executor, schema });
  await executor.exec(
    `CREATE TABLE "${schema}".read_model (position bigint PRIMARY KEY, writer text NOT NULL)`,
  );
});

afterAll(async () => {
  await db.close();
});

describe('PostgresProjectionStore: an instance whose lease lapsed', () => {
  it('writes nothing and does not run the batch when another instance moved the checkpoint', async () => {
    const live = new PostgresProjectionStore({ connection: executor, schema });
    const stale = new PostgresProjectionStore({ connection: executor, schema });
    const write = (writer: string, position: bigint) => async (batch: { attempt: PostgresAttempt }) => {
      await batch.attempt(async (sql) => {
        await sql.query({
          text: `INSERT INTO "${schema}".read_model (position, writer) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          values: [position.toString(), writer],
        });
      });
    };

    // Both start from no checkpoint; the live instance commits events 1..5 first.
    expect(await live.commitBatch('balances', undefined, 5n, write('live', 5n))).toBe(true);
    // The stale instance still believes the checkpoint is unset and handles events 1..3.
    let ran = false;
    const committed = await stale.commitBatch('balances', undefined, 3n, async (batch) => {
      ran = true;
      await write('stale', 3n)(batch);
    });
    expect(committed).toBe(false);
    expect(ran).toBe(false);
    // Nothing of the stale batch reached the read model, and the checkpoint did not move.
    const rows = await executor.query<{ writer: string }>({
      text: `SELECT writer FROM "${schema}".read_model`,
    });
    expect(rows.map((row) => row.writer)).toEqual(['live']);
    expect(await live.load('balances')).toBe(5n);

    // Same when the stale instance expects an older checkpoint than the current one.
    expect(await stale.commitBatch('balances', 2n, 4n, write('stale', 4n))).toBe(false);
    const after = await executor.query<{ writer: string }>({
      text: `SELECT writer FROM "${schema}".read_model`,
    });
    expect(after.map((row) => row.writer)).toEqual(['live']);
    expect(await live.load('balances')).toBe(5n);
  });
});

type PostgresAttempt = Parameters<Parameters<PostgresProjectionStore['commitBatch']>[3]>[0]['attempt'];
