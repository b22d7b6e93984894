import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { temporaryDataDir } from './support.js';

// The built binary (dist/main.js, built before the tests run) as a user runs it: a child process,
// its stdout, stderr and exit code. Every run is bounded: a hung process is killed and fails.
const appRoot = join(__dirname, '..');
const binary = join(appRoot, 'dist', 'main.js');
const RUN_TIMEOUT_MS = 90_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function start(
  args: readonly string[],
  env: Record<string, string> = {},
): ChildProcess & { done: Promise<Run> } {
  const started = Date.now();
  const { DATABASE_URL, MONGO_URL, ES_STORE, ES_DATA_DIR, ES_SCHEMA, ES_LOCK_WAIT_MS, ...rest } = process.env;
  const child = spawn(process.execPath, [binary, ...args], {
    cwd: appRoot,
    env: { ...rest, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    }),
  );
  return Object.assign(child, { done });
}

const bank = (args: readonly string[], env?: Record<string, string>) => start(args, env).done;
const lines = (text: string) => text.split('\n').filter((line) => line !== '');

beforeAll(() => {
  if (!existsSync(binary))
    throw new Error(`${binary} is missing: build the app first (nx run eventsourcing-basic:build).`);
});

describe('bank: usage', () => {
  it.each([['--help'], ['-h'], ['help'], ['deposit', '--help']])(
    '%s prints the usage on stdout and exits 0',
    async (...args) => {
      const run = await bank(args);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain('Usage: bank [--verbose] <command> [arguments]');
      expect(run.stdout).toContain('An <amount> is a positive whole number written in');
    },
  );

  it.each([
    [[], 'command missing'],
    [['transfer', 'alice'], "unknown command 'transfer'"],
    [['deposit'], 'id missing (usage: bank deposit <id> <amount>)'],
    [['deposit', 'alice'], 'amount missing (usage: bank deposit <id> <amount>)'],
    [['open', 'alice'], 'owner missing (usage: bank open <id> <owner>)'],
    [['deposit', 'alice', '10', 'extra'], "unexpected argument 'extra' (usage: bank deposit <id> <amount>)"],
    [['open', 'dave', 'Dave', 'Smith'], "unexpected argument 'Smith' (usage: bank open <id> <owner>)"],
    [['replay', 'now'], "unexpected argument 'now' (usage: bank replay)"],
    [['balance', '--bogus', 'alice'], "unknown option '--bogus'"],
    [['balance', ''], 'id is empty'],
    [['balance', '<600 characters>'], 'id is 600 characters long; at most 504 are allowed'],
  ])('%j is a usage error on stderr, exit 2: %s', async (args, problem) => {
    args = args.map((arg) => (arg === '<600 characters>' ? 'x'.repeat(600) : arg));
    const run = await bank(args);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(lines(run.stderr)).toEqual([
      `bank: ${problem}`,
      'Run "bank --help" for the commands and what they accept.',
    ]);
  });

  it.each(['0x10', '1e3', 'abc', '1.5', '12,5', '+5', ' 7', '', '0', '-5', '99999999999999999999'])(
    'refuses the amount %j with exit 2, naming it',
    async (amount) => {
      const run = await bank(['deposit', 'alice', amount]);
      expect(run).toMatchObject({ code: 2, stdout: '' });
      expect(lines(run.stderr)[0]).toBe(
        amount === '0'
          ? "bank: amount '0' is refused: it must be greater than 0"
          : amount === '99999999999999999999'
            ? `bank: amount '${amount}' is refused: at most 9007199254740991`
            : amount === '-5'
              ? "bank: amount '-5' is refused: an amount is a positive whole number, e.g. 250"
              : `bank: amount '${amount}' is refused: an amount is a positive whole number in decimal digits, e.g. 250`,
      );
    },
  );
});

describe('bank: the environment', () => {
  it('names an unknown store in one line, exit 2', async () => {
    const run = await bank(['balance', 'alice'], { ES_STORE: 'oracle' });
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(lines(run.stderr)).toEqual([
      'bank: ES_STORE="oracle" is not a store: use memory, pglite, postgres or mongodb.',
    ]);
  });

  it('reports an unreachable DATABASE_URL in one line with its code within 10 s, exit 3', async () => {
    const run = await bank(['balance', 'alice'], { DATABASE_URL: 'postgres://app:secret@127.0.0.1:1/none' });
    expect(run.ms).toBeLessThan(10_000);
    expect(run).toMatchObject({ code: 3, stdout: '' });
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^bank: ES_EVENT_STORE_UNAVAILABLE: .*\(--verbose for details\)\n$/);
    expect(run.stderr).not.toContain('secret');
  });

  it('gives up on a server that accepts the connection but never answers within 10 s, exit 3', async () => {
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const run = await bank(['balance', 'alice'], { DATABASE_URL: `postgres://app@127.0.0.1:${port}/none` });
      expect(run.ms).toBeLessThan(10_000);
      expect(run).toMatchObject({ code: 3, stdout: '' });
      expect(lines(run.stderr)).toEqual([
        expect.stringMatching(/^bank: ES_EVENT_STORE_UNAVAILABLE: .*timeout/),
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 30_000);

  it('adds the stack with --verbose', async () => {
    const run = await bank(['--verbose', 'balance', 'alice'], {
      DATABASE_URL: 'postgres://app@127.0.0.1:1/none',
    });
    expect(run.code).toBe(3);
    expect(lines(run.stderr)[0]).toMatch(/^bank: ES_EVENT_STORE_UNAVAILABLE: /);
    expect(run.stderr).toMatch(/\n\s+at /);
  });

  it('reports a data folder it cannot create in one line within 10 s, exit 3', async () => {
    const dir = await temporaryDataDir();
    try {
      const file = join(dir.path, 'a-file');
      await writeFile(file, 'not a folder');
      const run = await bank(['balance', 'alice'], { ES_DATA_DIR: join(file, 'data') });
      expect(run.ms).toBeLessThan(10_000);
      expect(run).toMatchObject({ code: 3, stdout: '' });
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toContain(
        `bank: ES_EVENT_STORE_UNAVAILABLE: Cannot open the embedded database in ${join(file, 'data')}: `,
      );
    } finally {
      await dir.remove();
    }
  });
});

describe('bank: commands on the embedded database', () => {
  let dataDir: { path: string; remove(): Promise<void> };
  const env = () => ({ ES_DATA_DIR: dataDir.path });

  beforeAll(async () => {
    dataDir = await temporaryDataDir();
  });

  afterAll(() => dataDir.remove());

  it('prints results on stdout and refusals as one line on stderr with exit 1', async () => {
    expect(await bank(['open', 'dave', 'Dave Smith'], env())).toMatchObject({
      code: 0,
      stdout: 'opened dave for Dave Smith\n',
    });
    expect(await bank(['deposit', 'dave', '250'], env())).toMatchObject({
      code: 0,
      stdout: 'dave: balance 250 (version 2)\n',
    });
    const refused = await bank(['withdraw', 'dave', '1000'], env());
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(lines(refused.stderr)).toEqual([
      'bank: refused: Insufficient funds in account "dave": balance 250, withdrawal 1000. [BANK_INSUFFICIENT_FUNDS]',
    ]);
    const missing = await bank(['balance', 'nobody'], env());
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(lines(missing.stderr)).toEqual([
      `bank: no account 'nobody': open it first with "bank open nobody <owner>"`,
    ]);
  }, 300_000);

  it('keeps every deposit of commands run at the same time (they take turns on the folder)', async () => {
    await bank(['open', 'erin', 'Erin'], env());
    const runs = await Promise.all([1, 2, 3, 4].map(() => bank(['deposit', 'erin', '10'], env())));
    for (const run of runs) expect(run.code).toBe(0);
    const balances = runs.map((run) => /balance (\d+)/.exec(run.stdout)?.[1]).sort();
    expect(balances).toEqual(['10', '20', '30', '40']);
    expect(await bank(['balance', 'erin'], env())).toMatchObject({
      code: 0,
      stdout: 'erin (Erin, open): balance 40 at version 5\n',
    });
  }, 300_000);

  it('refuses in one line, exit 3, naming the process that has the folder, when told not to wait', async () => {
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { openEmbeddedPostgres } from '@es/store-postgres';
         const db = await openEmbeddedPostgres({ dataDir: process.argv[1], command: 'holder for the test' });
         console.log('HELD');
         process.stdin.resume();
         process.stdin.on('end', async () => { await db.close(); });`,
        dataDir.path,
      ],
      { cwd: appRoot, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (chunk) => String(chunk).includes('HELD') && resolve());
        holder.once('close', (code) => reject(new Error(`holder exited with ${code}`)));
      });
      const run = await bank(['balance', 'dave'], { ...env(), ES_LOCK_WAIT_MS: '0' });
      expect(run).toMatchObject({ code: 3, stdout: '' });
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toMatch(
        new RegExp(
          `^bank: ES_EMBEDDED_DATABASE_LOCKED: The embedded database in .* is in use by process ${holder.pid} .*"holder for the test"`,
        ),
      );
    } finally {
      holder.stdin!.end();
      await new Promise((resolve) => holder.once('close', resolve));
    }
  }, 300_000);
});
