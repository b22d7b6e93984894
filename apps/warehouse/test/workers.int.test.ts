import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describeWithService } from '@es/testing';
import { openStorage } from '@es-samples/storage';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { runDemo } from '../src/demo.js';
import { productEvents } from '../src/domain/product-events.js';
import { STOCK_GROUP, STOCK_GROUP_PARTITIONS } from '../src/stock-workers.js';
import { uniqueSchema } from './support.js';

// `warehouse workers 3` (the built binary, as a user runs it) keeps the stock list with a consumer
// group of three worker processes on the server, while the demo appends; one worker is SIGKILLed,
// the others take its partitions over, and the list ends equal to the one the single projection
// keeps. Bounded waits only: nothing here asserts a duration.
const appRoot = join(__dirname, '..');
const binary = join(appRoot, 'dist', 'main.js');
const WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithService('warehouse workers on a PostgreSQL server', 'DATABASE_URL', (url) => {
  const schema = uniqueSchema('warehouse_workers');
  const q = `"${schema}"`;
  let pool: pg.Pool;
  let supervisor: ChildProcess | undefined;
  let workerPids: number[] = [];
  let stdout = '';
  let stderr = '';
  let exit: Promise<number | null>;

  const appendWithDemo = async () => {
    const storage = await openStorage({
      registry: productEvents,
      schema: 'warehouse',
      dataDir: '/nonexistent',
      env: { DATABASE_URL: url, ES_SCHEMA: schema },
    });
    try {
      await runDemo({ storage, print: () => undefined });
    } finally {
      await storage.close();
    }
  };

  const rows = async (table: string) =>
    (await pool.query(`SELECT sku, name, on_hand, reserved FROM ${q}.${table} ORDER BY sku`)).rows;

  const waitFor = async (what: string, done: () => Promise<boolean> | boolean) => {
    const deadline = Date.now() + WAIT_MS;
    while (!(await done())) {
      if (Date.now() > deadline) {
        throw new Error(`gave up waiting for ${what}.\nstdout:\n${stdout}\nstderr:\n${stderr}`);
      }
      await sleep(200);
    }
  };

  /** The workers' list equals the single projection's (the demo waits for that one). */
  const workersCaughtUp = async () => {
    const expected = await rows('stock');
    return expected.length > 0 && JSON.stringify(await rows('stock_workers')) === JSON.stringify(expected);
  };

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: url, max: 2 });
    await appendWithDemo();
    const { DATABASE_URL, MONGO_URL, ES_STORE, ES_DATA_DIR, ES_SCHEMA, ...rest } = process.env;
    supervisor = spawn(process.execPath, [binary, 'workers', '3'], {
      cwd: appRoot,
      env: { ...rest, NODE_OPTIONS: '', DATABASE_URL: url, ES_SCHEMA: schema },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    supervisor.stdout!.on('data', (chunk) => {
      stdout += chunk;
    });
    supervisor.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const child = supervisor;
    exit = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }, 120_000);

  afterAll(async () => {
    // Only if a test failed midway: the workers stop by themselves when their supervisor is gone.
    if (supervisor && supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGKILL');
      await exit;
    }
    await pool.query(`DROP SCHEMA IF EXISTS ${q} CASCADE`);
    await pool.end();
  }, 60_000);

  it('starts three worker processes that share the partitions and build the stock list', async () => {
    await waitFor(
      'three workers to join',
      () => (stdout.match(/: joining group "stock-workers"/g) ?? []).length === 3,
    );
    workerPids = (/\(pids ([\d, ]+)\)/.exec(stdout)?.[1] ?? '').split(', ').map(Number);
    // Checked before any kill: process.kill(0) would signal this whole process group.
    expect(workerPids).toHaveLength(3);
    for (const pid of workerPids) expect(pid).toBeGreaterThan(1);
    await waitFor('the workers to build the stock list', workersCaughtUp);
    // The first to join took every partition; the group rebalances them over the three.
    await waitFor('the partitions to be spread over the three workers', async () => {
      const owners = await pool.query<{ n: string }>(
        `SELECT count(DISTINCT owner) AS n FROM ${q}.es_partition_leases
         WHERE group_name = $1 AND owner IS NOT NULL AND expires_at > clock_timestamp()`,
        [STOCK_GROUP],
      );
      return Number(owners.rows[0]!.n) === 3;
    });
  }, 90_000);

  it('keeps the list right when a worker is SIGKILLed and the demo appends meanwhile', async () => {
    expect(workerPids[0]).toBeGreaterThan(1);
    process.kill(workerPids[0]!, 'SIGKILL');
    await waitFor('the kill to be reported', () =>
      stdout.includes(`worker process ${workerPids[0]} ended by SIGKILL`),
    );
    await appendWithDemo();
    await waitFor('the survivors to catch up', workersCaughtUp);
    // Every partition's checkpoint reaches the head of the log, the killed worker's too: a
    // partition with no events of its own stores how far it was read at most once a second, so
    // this waits (bounded) rather than reading the table once.
    const checkpointsAtHead = async () => {
      const result = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${q}.es_checkpoints
         WHERE subscription_id LIKE $1
           AND position >= (SELECT max(position) FROM ${q}.events)`,
        [`${STOCK_GROUP}#%`],
      );
      return Number(result.rows[0]!.n);
    };
    await waitFor('every partition checkpoint to reach the head of the log', async () => {
      return (await checkpointsAtHead()) === STOCK_GROUP_PARTITIONS;
    });
    expect(await checkpointsAtHead()).toBe(STOCK_GROUP_PARTITIONS);
    expect(await rows('stock_workers')).toEqual([
      { sku: 'DESK-02', name: 'Oak desk', on_hand: 22, reserved: 4 },
      { sku: 'LAMP-01', name: 'Desk lamp', on_hand: 54, reserved: 0 },
    ]);
  }, 120_000);

  it('stops every worker cleanly on SIGTERM, exit 0', async () => {
    supervisor!.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stdout).toContain('workers: every worker stopped');
    expect((stdout.match(/: stopped, its partitions handed over/g) ?? []).length).toBe(2);
    expect(stderr).toBe('');
  }, 60_000);
});
