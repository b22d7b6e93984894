import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ExpectedVersion, type StoredEvent } from '@es/core';
import { Projection } from '@es/replay';
import { describeWithService } from '@es/testing';
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import type { SqlSession } from '../connection/sql-executor.js';
import { PostgresEventStore } from '../events/postgres-event-store.js';
import {
  type AccountEvent,
  applyToReadModel,
  deposited,
  opened,
  readModelDdl,
  sleep,
  uniqueSchema,
} from '../testing/projection-read-model.js';
import { PostgresProjectionStore } from './postgres-projection-store.js';

jest.setTimeout(120_000);

const worker = join(__dirname, '..', 'testing', 'projection-worker.mjs');

describeWithService('A projection process killed with SIGKILL (server)', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;
  let schema: string;
  let eventStore: PostgresEventStore;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    pool = new pg.Pool({ connectionString: url, max: 5 });
    schema = uniqueSchema('es_kill');
    eventStore = new PostgresEventStore({ connection: pool, schema });
    await eventStore.migrate();
    await pool.query(readModelDdl(schema) + readModelDdl(schema, '_clean'));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await eventStore.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  const run = (name: string, delayMs: number) => {
    const child = spawn(process.execPath, [worker, url, schema, name, String(delayMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited };
  };
  const checkpoint = async (name: string) => {
    const { rows } = await pool.query(
      `SELECT position FROM "${schema}".es_checkpoints WHERE subscription_id = $1`,
      [name],
    );
    return rows[0] ? BigInt(rows[0].position) : undefined;
  };
  const column = async (sql: string) => (await pool.query(sql)).rows;

  it('loses nothing, duplicates nothing, and ends with the read model of a clean run', async () => {
    for (let s = 0; s < 30; s++) {
      const id = `acc-${s}`;
      await eventStore.appendEvents(id, ExpectedVersion.NoStream, [
        opened(id),
        ...[1, 2, 3, 4].map(deposited),
      ]);
      await eventStore.appendEvents(id, 5, [5, 6, 7, 8, 9, 10, 11].map(deposited));
    }
    const positions = (await column(`SELECT position FROM "${schema}".events ORDER BY position`)).map((row) =>
      BigInt(row.position),
    );
    expect(positions).toHaveLength(360);
    const last = positions[positions.length - 1]!;

    // A clean run, in this process, into the _clean tables.
    const clean = new Projection<AccountEvent, SqlSession>({
      name: 'clean',
      eventStore,
      readModel: new PostgresProjectionStore({ connection: pool, schema }),
      handler: (event: StoredEvent<AccountEvent>, sql: SqlSession) =>
        applyToReadModel(sql, schema, event, '_clean'),
    });
    clean.start();
    await clean.waitForPosition(last);
    await clean.stop();

    // Kill the worker with SIGKILL once it is well into the replay.
    const first = run('killed', 5);
    for (;;) {
      const at = await checkpoint('killed');
      if (at !== undefined && at >= positions[100]!) break;
      expect(first.child.exitCode).toBeNull();
      await sleep(10);
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    // One statement, one snapshot: the checkpoint and the read model as committed.
    const [state] = await column(
      `SELECT (SELECT position FROM "${schema}".es_checkpoints WHERE subscription_id = 'killed') AS at,
              (SELECT count(*)::int FROM "${schema}".handled) AS n`,
    );
    const atKill = BigInt(state.at);
    expect(atKill < last).toBe(true);
    // The batch in flight died with its connection: the read model holds exactly the checkpointed events.
    expect(state.n).toBe(positions.indexOf(atKill) + 1);

    const second = run('killed', 0);
    expect(await second.exited).toBe(0);
    expect(await checkpoint('killed')).toBe(last);
    const handled = (await column(`SELECT position FROM "${schema}".handled ORDER BY seq`)).map((row) =>
      BigInt(row.position),
    );
    expect(handled).toEqual(positions);
    const balances = (suffix: string) =>
      column(`SELECT stream_id, balance, version FROM "${schema}".balances${suffix} ORDER BY stream_id`);
    expect(await balances('')).toEqual(await balances('_clean'));
  });
});
