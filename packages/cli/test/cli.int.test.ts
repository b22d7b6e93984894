import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DomainEvent, ExpectedVersion } from '@es/core';
import { ConsumerGroup } from '@es/replay';
import {
  createSqlExecutor,
  PostgresCheckpointStore,
  PostgresEventStore,
  PostgresPartitionLeaseStore,
  PostgresProjectionStore,
  type SqlExecutor,
} from '@es/store-postgres';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { es, moduleDir, startEs } from './run-cli.js';

jest.setTimeout(120_000);

const recorder = (name: string) => `
import { appendFileSync } from 'node:fs';
export default {
  name: ${JSON.stringify(name)},
  handler(event) { appendFileSync(new URL('./handled.txt', import.meta.url), event.position + ' ' + event.type + '\\n'); },
};
`;

describeWithService('es against a PostgreSQL server', 'DATABASE_URL', (url) => {
  const schema = `es_cli_${process.pid}_${Date.now().toString(36)}`;
  const connect = ['--url', url, '--schema', schema];
  let admin: SqlExecutor;
  let store: PostgresEventStore;
  const positions: bigint[] = [];

  beforeAll(() => {
    admin = createSqlExecutor(url);
  });
  afterAll(async () => {
    await store?.close();
    await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  });

  const appendSome = async () => {
    store = new PostgresEventStore({ connection: url, schema });
    for (let i = 1; i <= 5; i++) {
      const events: DomainEvent[] = [{ type: 'Opened', data: { owner: `owner-${i}` } }];
      for (let j = 0; j < i; j++) events.push({ type: 'Deposited', data: { amount: j + 1 } });
      const result = await store.appendEvents(`account-${i}`, ExpectedVersion.NoStream, events);
      positions.push(result.lastPosition);
    }
    await store.appendEvents('order-1', ExpectedVersion.NoStream, [
      { type: 'OrderPlaced', data: { total: 3 } },
    ]);
  };

  it('migrate --dry-run prints the SQL and changes nothing; migrate applies it, then is a no-op', async () => {
    const dry = await es([...connect, 'migrate', '--dry-run']);
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.stdout).toContain('-- 001_create_event_store.sql');
    expect(dry.stdout).toContain('CREATE TABLE IF NOT EXISTS');
    const [found] = await admin.query<{ schema: string | null }>({
      text: 'SELECT to_regnamespace($1)::text AS schema',
      values: [schema],
    });
    expect(found?.schema).toBeNull();

    const applied = await es([...connect, 'migrate', '--json']);
    expect(applied).toMatchObject({ code: 0 });
    const report = JSON.parse(applied.stdout);
    expect(report.applied).toContain('001_create_event_store.sql');
    expect(report.alreadyApplied).toEqual([]);

    const again = await es([...connect, 'migrate']);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toMatch(/^Up to date/m);
    const dryAgain = await es([...connect, 'migrate', '--dry-run']);
    expect(dryAgain.stdout).toMatch(/Nothing to apply/);
  });

  it('streams list: table, --json, a prefix and pages', async () => {
    await appendSome();
    const listed = await es([...connect, 'streams', 'list']);
    expect(listed).toMatchObject({ code: 0 });
    expect(listed.stdout.split('\n')[0]).toMatch(/^STREAM\s+VERSION\s+LAST POSITION\s+LAST WRITTEN$/);
    expect(listed.stdout).toMatch(/^account-3\s+4\s+\d+\s+\d{4}-/m);
    expect(listed.stdout).toContain('Streams 1-6 of 6');

    const page = JSON.parse(
      (
        await es([
          ...connect,
          'streams',
          'list',
          '--prefix',
          'account-',
          '--limit',
          '2',
          '--offset',
          '2',
          '--json',
        ])
      ).stdout,
    );
    expect(page.total).toBe(5);
    expect(page.streams.map((s: { streamId: string }) => s.streamId)).toEqual(['account-3', 'account-4']);
    expect(page.streams[0]).toMatchObject({ version: 4, lastPosition: positions[2]!.toString() });
    const more = await es([...connect, 'streams', 'list', '--prefix', 'account-', '--limit', '2']);
    expect(more.stdout).toContain('(next page: --offset 2)');
  });

  it('streams show: a table and JSON with positions as strings; an unknown stream is an error with a code', async () => {
    const shown = await es([...connect, 'streams', 'show', 'account-2']);
    expect(shown).toMatchObject({ code: 0 });
    expect(shown.stdout).toMatch(/^VERSION\s+POSITION\s+TIMESTAMP\s+TYPE\s+DATA$/m);
    expect(shown.stdout).toMatch(/^1\s+\d+\s+\S+\s+Opened\s+\{"owner":"owner-2"\}$/m);
    expect(shown.stdout).toMatch(/^3\s+\d+\s+\S+\s+Deposited\s+\{"amount":2\}$/m);

    const json = JSON.parse(
      (await es([...connect, 'streams', 'show', 'account-2', '--from-version', '2', '--json'])).stdout,
    );
    expect(json).toHaveLength(2);
    expect(json[1]).toMatchObject({
      streamId: 'account-2',
      version: 3,
      type: 'Deposited',
      data: { amount: 2 },
    });
    expect(typeof json[1].position).toBe('string');
    expect(json[1].position).toBe(positions[1]!.toString());

    const missing = await es([...connect, 'streams', 'show', 'nope']);
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toMatch(/^es: ES_STREAM_NOT_FOUND: No stream "nope"/);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('console starts the web console on the same store, read-only on 127.0.0.1', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const running = startEs([...connect, 'console', '--port', String(port)]);
    try {
      await running.waitFor('stdout', /read-only, at http:\/\/127\.0\.0\.1:\d+/);
      const response = await fetch(`http://127.0.0.1:${port}/api/streams`);
      expect(response.status).toBe(200);
      expect(JSON.stringify(await response.json())).toContain('account-1');
    } finally {
      running.child.kill('SIGINT');
    }
    await running.exited;
    const missing = await es([...connect, 'console'], { ES_CONSOLE_MAIN: '/nonexistent/main.js' });
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toMatch(/^es: ES_CLI_CONSOLE_NOT_FOUND: /);
  });

  it('tail follows the log live, filtered by type, until interrupted', async () => {
    const tail = startEs([...connect, 'tail', '--type', 'Withdrawn']);
    try {
      await tail.waitFor('stderr', /Following .* after position \d+/);
      expect(tail.stdout).toBe('');
      await store.appendEvents('account-1', ExpectedVersion.Any, [
        { type: 'Deposited', data: { amount: 100 } },
        { type: 'Withdrawn', data: { amount: 7 } },
      ]);
      await tail.waitFor('stdout', /Withdrawn/);
      expect(tail.stdout).toMatch(/^\d+ \S+ account-1@4 Withdrawn \{"amount":7\}\n$/);
    } finally {
      tail.child.kill('SIGINT');
    }
    expect(await tail.exited).toBe(0);

    const json = await es([...connect, 'tail', '--from-start', '--count', '2', '--json']);
    expect(json).toMatchObject({ code: 0 });
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((e) => [e.streamId, e.version])).toEqual([
      ['account-1', 1],
      ['account-1', 2],
    ]);
  });

  it('stats: counts, rate, sizes, types and the largest streams', async () => {
    const text = await es([...connect, 'stats', '--top', '2']);
    expect(text).toMatchObject({ code: 0 });
    expect(text.stdout).toMatch(/^events\s+23$/m);
    expect(text.stdout).toMatch(/^streams\s+6$/m);
    expect(text.stdout).toMatch(/^rate\s+23 in the last minute/m);
    expect(text.stdout).toMatch(/^account-5\s+6$/m);
    const stats = JSON.parse((await es([...connect, 'stats', '--top', '2', '--json'])).stdout);
    expect(stats).toMatchObject({ events: 23, streams: 6 });
    expect(stats.types).toEqual([
      { type: 'Deposited', count: 16 },
      { type: 'Opened', count: 5 },
      { type: 'OrderPlaced', count: 1 },
      { type: 'Withdrawn', count: 1 },
    ]);
    expect(stats.largestStreams).toEqual([
      { streamId: 'account-5', events: 6 },
      { streamId: 'account-4', events: 5 },
    ]);
    expect(stats.storageBytes).toBeGreaterThan(0);
    expect(stats.averageEventBytes).toBeGreaterThan(0);
  });

  it('projections list/status show a projection and a consumer group; parked events; reset and rewind', async () => {
    const head = (
      await admin.query<{ head: string }>({
        text: `SELECT max(position)::text AS head FROM "${schema}".events`,
      })
    )[0]!.head;
    const checkpoints = new PostgresCheckpointStore({ connection: url, schema });
    await checkpoints.save('balances', positions[1]!);
    await checkpoints.close();

    const leases = new PostgresPartitionLeaseStore({ connection: url, schema });
    const readModel = new PostgresProjectionStore({ connection: url, schema });
    const group = new ConsumerGroup({
      name: 'ledger',
      partitions: 2,
      workerId: 'worker-a',
      eventStore: store,
      leases,
      readModel,
      pollIntervalMs: 50,
      retry: { maxAttempts: 1 },
      handler: (event) => {
        if (event.type === 'OrderPlaced' || event.type === 'Withdrawn')
          throw new Error(`cannot handle ${event.type}`);
      },
    });
    group.start();
    try {
      await group.waitForPosition(BigInt(head));
      const running = JSON.parse((await es([...connect, 'projections', 'list', '--json'])).stdout);
      expect(running.map((p: { name: string }) => p.name)).toEqual(['balances', 'ledger']);
      expect(running[0]).toMatchObject({
        kind: 'projection',
        checkpoint: positions[1]!.toString(),
        parked: 0,
      });
      expect(running[0].lagEvents).toBe(23 - 2 - 3);
      expect(running[0].lagSeconds).toBeGreaterThanOrEqual(0);
      expect(running[1]).toMatchObject({
        kind: 'group',
        partitions: 2,
        checkpoint: head,
        lagEvents: 0,
        parked: 2,
        owners: ['worker-a'],
        members: ['worker-a'],
      });
      const refused = await es([...connect, 'projections', 'reset', 'ledger']);
      expect(refused).toMatchObject({ code: 1 });
      expect(refused.stderr).toMatch(
        /^es: ES_CLI_PROJECTION_RUNNING: Workers hold leases of "ledger" \(worker-a\)/,
      );
    } finally {
      await group.stop();
      await readModel.close();
      await leases.close();
    }

    const table = await es([...connect, 'projections', 'list']);
    expect(table.stdout).toMatch(
      /^NAME\s+KIND\s+PARTITIONS\s+CHECKPOINT\s+LAG\s+LAG TIME\s+PARKED\s+OWNERS$/m,
    );
    expect(table.stdout).toMatch(/^ledger\s+group\s+2\s+\d+\s+0\s+0s\s+2\s+-$/m);

    const status = JSON.parse((await es([...connect, 'projections', 'status', 'ledger', '--json'])).stdout);
    expect(status.partitions.map((p: { subscriptionId: string }) => p.subscriptionId)).toEqual([
      'ledger#0',
      'ledger#1',
    ]);
    expect(status.partitions.every((p: { checkpoint: string }) => p.checkpoint === head)).toBe(true);
    const statusText = await es([...connect, 'projections', 'status', 'ledger']);
    expect(statusText.stdout).toMatch(/^ledger#1\s+\d+\s+\S+\s+0\s+0s\s+\d\s+-$/m);

    // Parked events: list, skip one, retry one with a handler that still fails, then a fixed one.
    const parked = JSON.parse((await es([...connect, 'parked', 'list', 'ledger', '--json'])).stdout);
    expect(parked.map((p: { eventType: string }) => p.eventType).sort()).toEqual([
      'OrderPlaced',
      'Withdrawn',
    ]);
    expect(parked[0].error).toMatch(/cannot handle/);
    const withdrawn = parked.find((p: { eventType: string }) => p.eventType === 'Withdrawn');
    const order = parked.find((p: { eventType: string }) => p.eventType === 'OrderPlaced');
    const listText = await es([...connect, 'parked', 'list']);
    expect(listText.stdout).toMatch(
      new RegExp(
        `^${withdrawn.subscriptionId}\\s+${withdrawn.position}\\s+account-1\\s+Withdrawn\\s+1\\s+\\S+\\s+.*cannot handle Withdrawn`,
        'm',
      ),
    );

    const dir = moduleDir({
      'fixed.mjs': recorder('ledger'),
      'broken.mjs': 'export default { handler() { throw new Error("still broken"); } };',
    });
    const failing = await es([
      ...connect,
      'parked',
      'retry',
      order.subscriptionId,
      order.position,
      '--module',
      join(dir, 'broken.mjs'),
    ]);
    expect(failing).toMatchObject({ code: 1 });
    expect(failing.stderr).toMatch(
      /^es: ES_CLI_RETRY_FAILED: 1 event\(s\) failed again and stay parked; .*still broken\n$/,
    );
    const retried = await es([
      ...connect,
      'parked',
      'retry',
      order.subscriptionId,
      order.position,
      '--module',
      join(dir, 'fixed.mjs'),
    ]);
    expect(retried).toMatchObject({ code: 0, stdout: 'Retried 1 parked event(s); 0 failed again.\n' });
    expect(readFileSync(join(dir, 'handled.txt'), 'utf8')).toBe(`${order.position} OrderPlaced\n`);
    const skipped = await es([...connect, 'parked', 'skip', 'ledger', '--all']);
    expect(skipped).toMatchObject({ code: 0, stdout: 'Skipped 1 parked event(s).\n' });
    expect(JSON.parse((await es([...connect, 'parked', 'list', '--json'])).stdout)).toEqual([]);

    // Reset forgets every partition's checkpoint; rewind sets them.
    const reset = await es([...connect, 'projections', 'reset', 'ledger']);
    expect(reset).toMatchObject({ code: 0 });
    expect(reset.stdout).toContain('Reset ledger#0, ledger#1');
    const afterReset = JSON.parse(
      (await es([...connect, 'projections', 'status', 'ledger', '--json'])).stdout,
    );
    expect(afterReset.partitions.map((p: { checkpoint?: string }) => p.checkpoint)).toEqual([
      undefined,
      undefined,
    ]);
    expect(afterReset.lagEvents).toBe(23);
    const rewind = await es([
      ...connect,
      'projections',
      'rewind',
      'ledger',
      '--to',
      positions[0]!.toString(),
    ]);
    expect(rewind).toMatchObject({ code: 0 });
    const afterRewind = JSON.parse(
      (await es([...connect, 'projections', 'status', 'ledger', '--json'])).stdout,
    );
    expect(afterRewind.partitions.map((p: { checkpoint: string }) => p.checkpoint)).toEqual([
      positions[0]!.toString(),
      positions[0]!.toString(),
    ]);
    expect(afterRewind.lagEvents).toBe(23 - 2);

    const unknown = await es([...connect, 'projections', 'status', 'nothing']);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toMatch(/^es: ES_CLI_PROJECTION_NOT_FOUND: /);
  });

  it('projections rebuild replays everything into the module and sets the checkpoint to the end', async () => {
    const dir = moduleDir({ 'balances.mjs': recorder('balances') });
    const rebuilt = await es([
      ...connect,
      'projections',
      'rebuild',
      'balances',
      '--module',
      join(dir, 'balances.mjs'),
      '--json',
    ]);
    expect(rebuilt).toMatchObject({ code: 0 });
    const result = JSON.parse(rebuilt.stdout);
    expect(result.processed).toBe(23);
    expect(readFileSync(join(dir, 'handled.txt'), 'utf8').trim().split('\n')).toHaveLength(23);
    const status = JSON.parse((await es([...connect, 'projections', 'status', 'balances', '--json'])).stdout);
    expect(status).toMatchObject({ checkpoint: result.checkpoint, lagEvents: 0 });
    const mismatch = await es([
      ...connect,
      'projections',
      'rebuild',
      'ledger',
      '--module',
      join(dir, 'balances.mjs'),
    ]);
    expect(mismatch).toMatchObject({ code: 2 });
    expect(mismatch.stderr).toMatch(/^es: ES_CLI_MODULE_MISMATCH: /);
  });

  it('replay hands a range to the module; without a terminal the progress is plain lines', async () => {
    const dir = moduleDir({
      'deposits.mjs': recorder('deposits'),
    });
    const replayed = await es([
      ...connect,
      'replay',
      '--module',
      join(dir, 'deposits.mjs'),
      '--type',
      'Deposited',
      '--from',
      positions[0]!.toString(),
    ]);
    expect(replayed).toMatchObject({ code: 0 });
    expect(replayed.stdout).toMatch(/^Replayed 15 events up to position \d+ in \d+\.\ds\.\n$/);
    // Plain lines, no terminal control sequences.
    expect(replayed.stderr).toMatch(/^replay: 15\/15 events \(100%\), \d+ events\/s, ETA 0s$/m);
    expect(replayed.stderr).not.toContain(String.fromCharCode(27));
    const handled = readFileSync(join(dir, 'handled.txt'), 'utf8').trim().split('\n');
    expect(handled).toHaveLength(15);
    expect(handled.every((line) => line.endsWith(' Deposited'))).toBe(true);
  });

  it('usage errors exit 2 with one line; --help works on every command', async () => {
    const missing = await es([...connect, 'replay']);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toMatch(/^es: ES_CLI_USAGE: required option '--module <path>' not specified/);
    const badPosition = await es([...connect, 'projections', 'rewind', 'x', '--to', 'abc']);
    expect(badPosition).toMatchObject({ code: 2 });
    expect(badPosition.stderr).toMatch(/^es: ES_CLI_USAGE: .*--to takes a global position/);
    const noModule = await es([...connect, 'replay', '--module', '/nonexistent/handler.mjs']);
    expect(noModule).toMatchObject({
      code: 2,
      stderr: 'es: ES_CLI_MODULE_NOT_FOUND: No module at /nonexistent/handler.mjs.\n',
    });
    const notMigrated = await es(['--url', url, '--schema', `${schema}_none`, 'stats']);
    expect(notMigrated).toMatchObject({ code: 1 });
    expect(notMigrated.stderr).toMatch(/^es: ES_STORE_NOT_MIGRATED: .*Run `es migrate`/);
    for (const command of [
      [],
      ['migrate'],
      ['streams', 'list'],
      ['streams', 'show'],
      ['tail'],
      ['stats'],
      ['projections', 'list'],
      ['projections', 'status'],
      ['projections', 'reset'],
      ['projections', 'rewind'],
      ['projections', 'rebuild'],
      ['parked', 'list'],
      ['parked', 'retry'],
      ['parked', 'skip'],
      ['replay'],
    ]) {
      const help = await es([...command, '--help']);
      expect(help).toMatchObject({ code: 0 });
      expect(help.stdout).toMatch(/^Usage: es/);
      expect(help.stdout).toContain('--data-dir');
    }
  });
});
