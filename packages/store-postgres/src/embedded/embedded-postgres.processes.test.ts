import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { transformFileSync } from '@swc/core';
import { EMBEDDED_LOCK_FILE } from './data-dir-lock.js';

// Real processes racing on one PGlite data directory through openEmbeddedPostgres. The module is
// compiled from src (not dist) into node_modules/.cache, where a small child script imports it.
//
// RACE_WITHOUT_LOCK=1 makes the writers open PGlite directly, as the sample apps did before: the
// race test then fails, because each process works on its own copy and the last to close wins.
const packageRoot = join(__dirname, '..', '..');
const buildDir = join(packageRoot, 'node_modules', '.cache', `embedded-processes-${process.pid}`);
const childScript = join(buildDir, 'child.mjs');
const CHILD_TIMEOUT_MS = 150_000;

const CHILD = `
import { PGlite } from '@electric-sql/pglite';
import { openEmbeddedPostgres } from './index.js';

const [mode, dataDir, name, waitMs] = process.argv.slice(2);
const withoutLock = process.env.RACE_WITHOUT_LOCK === '1' && mode === 'write';
try {
  const embedded = withoutLock
    ? { db: await PGlite.create(dataDir), close() { return this.db.close(); } }
    : await openEmbeddedPostgres({ dataDir, waitMs: Number(waitMs), command: 'writer ' + name });
  const { db } = embedded;
  await db.exec('create table if not exists writes (name text primary key)');
  if (mode === 'count') {
    const { rows } = await db.query('select name from writes order by name');
    console.log('ROWS ' + JSON.stringify(rows.map((row) => row.name)));
  } else {
    await db.query('insert into writes (name) values ($1)', [name]);
  }
  if (mode === 'hold') {
    console.log('HELD');
    // Holds the directory until the test closes stdin (or kills this process).
    process.stdin.resume();
    await new Promise((done) => process.stdin.on('end', done));
  }
  if (mode === 'exit-without-close') process.exit(0);
  await embedded.close();
  if (mode !== 'count') console.log('ACK ' + name);
} catch (error) {
  if (error.code === 'ES_EMBEDDED_DATABASE_LOCKED') {
    console.log('REFUSED ' + error.code + ' holder=' + error.holder.pid + ' waited=' + error.waitedMs);
    console.error(error.message);
    process.exit(3);
  }
  console.error(error);
  process.exit(1);
}
`;

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function start(
  mode: string,
  dataDir: string,
  name: string,
  waitMs = 0,
): ChildProcess & { done: Promise<Finished> } {
  const started = Date.now();
  const child = spawn(process.execPath, [childScript, mode, dataDir, name, String(waitMs)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  // No child may hang: past the timeout it is killed, and the test sees signal SIGKILL.
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const done = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return Object.assign(child, { done });
}

async function waitForLine(child: ChildProcess, line: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.split('\n').includes(line)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('close', (code) => reject(new Error(`child exited (${code}) before printing ${line}`)));
  });
}

async function storedRows(dataDir: string): Promise<string[]> {
  const result = await start('count', dataDir, 'count', 60_000).done;
  expect(result).toMatchObject({ code: 0 });
  return JSON.parse(/^ROWS (.*)$/m.exec(result.stdout)![1]!) as string[];
}

describe('openEmbeddedPostgres with several processes on one data directory', () => {
  let root: string;

  beforeAll(async () => {
    await mkdir(buildDir, { recursive: true });
    await writeFile(join(buildDir, 'package.json'), '{ "type": "module" }');
    for (const file of ['errors', 'data-dir-lock', 'open-embedded-postgres', 'index']) {
      const { code } = transformFileSync(join(__dirname, `${file}.ts`), {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
      });
      await writeFile(join(buildDir, `${file}.js`), code);
    }
    await writeFile(childScript, CHILD);
    root = await mkdtemp(join(tmpdir(), 'es-embedded-processes-'));
  });

  afterAll(async () => {
    await rm(buildDir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });

  it('keeps every acknowledged write when six processes write at once (they take turns)', async () => {
    const dataDir = join(root, 'race');
    expect(await start('write', dataDir, 'first').done).toMatchObject({ code: 0 }); // creates the database
    const names = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'];
    const results = await Promise.all(names.map((name) => start('write', dataDir, name, 120_000).done));
    for (const result of results) expect(result).toMatchObject({ code: 0, signal: null });
    const acknowledged = results.flatMap((result) => /^ACK (\w+)$/m.exec(result.stdout)?.[1] ?? []);
    expect(acknowledged.sort()).toEqual(names);
    expect(await storedRows(dataDir)).toEqual(['first', ...names]);
    expect(existsSync(join(dataDir, EMBEDDED_LOCK_FILE))).toBe(false);
  }, 600_000);

  it('refuses others at once, or after a bounded wait, with a typed error naming the holder', async () => {
    const dataDir = join(root, 'held');
    const holder = start('hold', dataDir, 'holder');
    await waitForLine(holder, 'HELD');
    const refused = await Promise.all(
      ['r1', 'r2', 'r3'].map((name) => start('write', dataDir, name, 0).done),
    );
    for (const result of refused) {
      expect(result.code).toBe(3);
      expect(result.stdout).toContain(`REFUSED ES_EMBEDDED_DATABASE_LOCKED holder=${holder.pid}`);
      expect(result.stderr).toMatch(new RegExp(`in use by process ${holder.pid} .*"writer holder", since `));
      expect(result.stderr).toContain('DATABASE_URL');
    }
    const waited = await start('write', dataDir, 'patient', 1_500).done;
    expect(waited.code).toBe(3);
    expect(Number(/waited=(\d+)/.exec(waited.stdout)![1])).toBeGreaterThanOrEqual(1_500);

    holder.stdin!.end(); // the holder closes its database and releases the lock
    expect(await holder.done).toMatchObject({ code: 0 });
    expect(await start('write', dataDir, 'after', 0).done).toMatchObject({ code: 0 });
    expect(await storedRows(dataDir)).toEqual(['after', 'holder']);
  }, 600_000);

  it('takes over the lock of a holder killed with SIGKILL, one newcomer at a time', async () => {
    const dataDir = join(root, 'killed');
    const holder = start('hold', dataDir, 'holder');
    await waitForLine(holder, 'HELD');
    holder.kill('SIGKILL');
    expect(await holder.done).toMatchObject({ signal: 'SIGKILL' });
    expect(existsSync(join(dataDir, EMBEDDED_LOCK_FILE))).toBe(true); // left behind

    const names = ['n1', 'n2', 'n3', 'n4'];
    const results = await Promise.all(names.map((name) => start('write', dataDir, name, 120_000).done));
    for (const result of results) expect(result).toMatchObject({ code: 0, signal: null });
    expect(await storedRows(dataDir)).toEqual(expect.arrayContaining(names));
    const leftovers = (await readdir(dataDir)).filter((file) => file.startsWith(EMBEDDED_LOCK_FILE));
    expect(leftovers).toEqual([]);
  }, 600_000);

  it('releases the lock when the process exits without close()', async () => {
    const dataDir = join(root, 'exit');
    expect(await start('exit-without-close', dataDir, 'x').done).toMatchObject({ code: 0 });
    expect(existsSync(join(dataDir, EMBEDDED_LOCK_FILE))).toBe(false);
  }, 300_000);
});
