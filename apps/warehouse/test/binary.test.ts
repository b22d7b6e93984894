import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
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

function warehouse(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const started = Date.now();
  const { DATABASE_URL, MONGO_URL, ES_STORE, ES_DATA_DIR, ES_SCHEMA, ES_LOCK_WAIT_MS, ...rest } = process.env;
  const child = spawn(process.execPath, [binary, ...args], {
    cwd: appRoot,
    env: { ...rest, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    }),
  );
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

beforeAll(() => {
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: build the app first (nx run warehouse:build).`);
  }
});

describe('warehouse: usage', () => {
  it.each([['--help'], ['-h'], ['help'], ['history', '--help']])(
    '%s prints the usage on stdout and exits 0',
    async (...args) => {
      const run = await warehouse(args);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain('Usage: warehouse [--verbose] <command>');
    },
  );

  it.each([
    [[], 'command missing'],
    [['restock'], "unknown command 'restock'"],
    [['history'], 'sku missing (usage: warehouse history <sku>)'],
    [['history', 'LAMP-01', 'DESK-02'], "unexpected argument 'DESK-02' (usage: warehouse history <sku>)"],
    [['stock', 'now'], "unexpected argument 'now' (usage: warehouse stock)"],
    [['stock', '--all'], "unknown option '--all'"],
    [['history', ''], 'sku is empty'],
    [['history', '<600 characters>'], 'sku is 600 characters long; at most 504 are allowed'],
    [['workers'], 'n missing (usage: warehouse workers <n>)'],
    [
      ['workers', '0'],
      "n must be a whole number from 1 to 8, got '0' (the group has 8 partitions: more workers would sit idle)",
    ],
    [
      ['workers', '2.5'],
      "n must be a whole number from 1 to 8, got '2.5' (the group has 8 partitions: more workers would sit idle)",
    ],
    [['worker', '2'], "unexpected argument '2' (usage: warehouse worker)"],
  ])('%j is a usage error on stderr, exit 2: %s', async (args, problem) => {
    const run = await warehouse(args.map((arg) => (arg === '<600 characters>' ? 'x'.repeat(600) : arg)));
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(lines(run.stderr)).toEqual([
      `warehouse: ${problem}`,
      'Run "warehouse --help" for the commands and what they accept.',
    ]);
  });
});

describe('warehouse: the environment and the store', () => {
  it('names an unknown store in one line, exit 2', async () => {
    const run = await warehouse(['stock'], { ES_STORE: 'oracle' });
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(lines(run.stderr)).toEqual([
      'warehouse: ES_STORE="oracle" is not a store: use memory, pglite, postgres or mongodb.',
    ]);
  });

  it.each([['workers', '3'], ['worker'], ['group']])(
    '%s refuses to run without a PostgreSQL server, in one line, exit 2, creating nothing',
    async (...args) => {
      const dir = await temporaryDataDir();
      try {
        const dataDir = join(dir.path, 'data');
        const run = await warehouse(args, { ES_DATA_DIR: dataDir });
        expect(run).toMatchObject({ code: 2, stdout: '' });
        expect(lines(run.stderr)).toEqual([
          `warehouse: ${args[0]} needs a PostgreSQL server: set DATABASE_URL=postgres://... (worker processes ` +
            'share the leases and the read model through it; the default embedded database, PGlite, is opened ' +
            'by one process at a time, and MongoDB or memory are not supported here)',
        ]);
        expect(existsSync(dataDir)).toBe(false);
      } finally {
        await dir.remove();
      }
    },
  );

  it('reports an unreachable DATABASE_URL in one line with its code within 10 s, exit 3', async () => {
    const run = await warehouse(['stock'], { DATABASE_URL: 'postgres://app@127.0.0.1:1/none' });
    expect(run.ms).toBeLessThan(10_000);
    expect(run).toMatchObject({ code: 3, stdout: '' });
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^warehouse: ES_EVENT_STORE_UNAVAILABLE: .*\(--verbose for details\)\n$/);
  });

  it('reports a data folder it cannot create in one line within 10 s, exit 3', async () => {
    const dir = await temporaryDataDir();
    try {
      const file = join(dir.path, 'a-file');
      await writeFile(file, 'not a folder');
      const run = await warehouse(['stock'], { ES_DATA_DIR: join(file, 'data') });
      expect(run.ms).toBeLessThan(10_000);
      expect(run).toMatchObject({ code: 3, stdout: '' });
      expect(lines(run.stderr)).toEqual([
        expect.stringMatching(/^warehouse: ES_EVENT_STORE_UNAVAILABLE: Cannot open/),
      ]);
    } finally {
      await dir.remove();
    }
  });

  describe('on the embedded database', () => {
    let dataDir: { path: string; remove(): Promise<void> };

    beforeAll(async () => {
      dataDir = await temporaryDataDir();
    });

    afterAll(() => dataDir.remove());

    it('says a product is unknown in one line on stderr, exit 1', async () => {
      const run = await warehouse(['history', 'NOPE-01'], { ES_DATA_DIR: dataDir.path });
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(lines(run.stderr)).toEqual(["warehouse: no product 'NOPE-01'"]);
    }, 120_000);
  });
});
