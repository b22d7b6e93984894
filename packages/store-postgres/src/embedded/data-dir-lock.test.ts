import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EMBEDDED_LOCK_FILE, lockDataDir, readDataDirLock, takeOver } from './data-dir-lock.js';
import { EMBEDDED_DATABASE_LOCKED, isEmbeddedDatabaseLockedError } from './errors.js';

// The lock on its own, in this process (no PGlite). Other processes: embedded-postgres.processes.test.ts.
describe('lockDataDir', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'es-lock-test-'));
  });

  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('writes a lock file naming this process, and removes it on release', async () => {
    const lock = await lockDataDir(dataDir, { command: 'bank deposit alice 10' });
    const record = JSON.parse(await readFile(join(dataDir, EMBEDDED_LOCK_FILE), 'utf8'));
    expect(record).toMatchObject({
      pid: process.pid,
      hostname: hostname(),
      command: 'bank deposit alice 10',
    });
    expect(await readDataDirLock(dataDir)).toMatchObject({ pid: process.pid });
    await lock.release();
    await lock.release();
    expect(existsSync(lock.lockFile)).toBe(false);
    expect(await readDataDirLock(dataDir)).toBeUndefined();
  });

  it('refuses a second holder at once with a typed error naming the first, by default', async () => {
    const first = await lockDataDir(dataDir, { command: 'first holder' });
    const started = Date.now();
    const error = await lockDataDir(dataDir).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(isEmbeddedDatabaseLockedError(error)).toBe(true);
    expect(error).toMatchObject({
      code: EMBEDDED_DATABASE_LOCKED,
      holder: { pid: process.pid, command: 'first holder' },
      waitedMs: expect.any(Number),
    });
    expect((error as Error).message).toMatch(
      new RegExp(`in use by process ${process.pid} .*"first holder", since \\d{4}-.*DATABASE_URL`),
    );
    await first.release();
  });

  it('waits up to waitMs, announcing the holder once, then refuses', async () => {
    const first = await lockDataDir(dataDir);
    const announced: number[] = [];
    const started = Date.now();
    await expect(
      lockDataDir(dataDir, {
        waitMs: 300,
        pollIntervalMs: 20,
        onWait: (holder) => announced.push(holder.pid),
      }),
    ).rejects.toMatchObject({ code: EMBEDDED_DATABASE_LOCKED });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(announced).toEqual([process.pid]);
    await first.release();
  });

  it('gets the lock when the holder releases it during the wait', async () => {
    const first = await lockDataDir(dataDir);
    setTimeout(() => void first.release(), 150);
    const second = await lockDataDir(dataDir, { waitMs: 5_000, pollIntervalMs: 20 });
    expect(second.holder.pid).toBe(process.pid);
    await second.release();
  });

  it('takes over a lock whose process is gone, and only one of many newcomers gets it', async () => {
    const deadPid = exitedPid();
    await writeFile(
      join(dataDir, EMBEDDED_LOCK_FILE),
      JSON.stringify({
        pid: deadPid,
        hostname: hostname(),
        command: 'killed',
        since: new Date().toISOString(),
        token: `${deadPid}-x`,
      }),
    );
    expect(await readDataDirLock(dataDir)).toBeUndefined();
    const attempts = await Promise.allSettled(Array.from({ length: 12 }, () => lockDataDir(dataDir)));
    const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
    const refused = attempts.filter((attempt) => attempt.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const attempt of refused) expect(isEmbeddedDatabaseLockedError(attempt.reason)).toBe(true);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockDataDir>>>).value.release();
  });

  it('does not let a newcomer that saw the stale lock remove the lock taken since', async () => {
    const deadPid = exitedPid();
    const lockFile = join(dataDir, EMBEDDED_LOCK_FILE);
    const staleToken = `${deadPid}-stale`;
    await writeFile(
      lockFile,
      JSON.stringify({
        pid: deadPid,
        hostname: hostname(),
        command: 'killed',
        since: new Date().toISOString(),
        token: staleToken,
      }),
    );
    const winner = await lockDataDir(dataDir); // took the stale lock over
    // A slower newcomer read the stale lock before that and now tries to remove it, twice.
    expect(await takeOver(lockFile, staleToken)).toBe(true);
    expect(await takeOver(lockFile, staleToken)).toBe(true);
    expect(await readDataDirLock(dataDir)).toMatchObject({ pid: process.pid });
    await expect(lockDataDir(dataDir)).rejects.toMatchObject({ code: EMBEDDED_DATABASE_LOCKED });
    // Only one newcomer at a time may remove a given stale lock: the marker file says who.
    await writeFile(`${lockFile}.takeover-${staleToken}`, JSON.stringify({ pid: process.pid }));
    expect(await takeOver(lockFile, staleToken)).toBe(false);
    await winner.release();
  });

  it('treats a live pid that started after the lock was taken as a reused pid (stale)', async () => {
    await writeFile(
      join(dataDir, EMBEDDED_LOCK_FILE),
      JSON.stringify({
        pid: process.pid,
        hostname: hostname(),
        command: 'old',
        since: '2000-01-01T00:00:00.000Z',
        token: 'old-1',
      }),
    );
    const lock = await lockDataDir(dataDir);
    await lock.release();
  });

  it('counts a lock on another machine as held (its pid cannot be checked)', async () => {
    await writeFile(
      join(dataDir, EMBEDDED_LOCK_FILE),
      JSON.stringify({
        pid: exitedPid(),
        hostname: `not-${hostname()}`,
        command: 'elsewhere',
        since: new Date().toISOString(),
        token: 't',
      }),
    );
    await expect(lockDataDir(dataDir)).rejects.toMatchObject({ holder: { command: 'elsewhere' } });
  });

  it('refuses a bad waitMs before touching the folder', async () => {
    await expect(lockDataDir(join(dataDir, 'never'), { waitMs: -1 })).rejects.toMatchObject({
      code: 'ES_INVALID_ARGUMENT',
    });
    expect(existsSync(join(dataDir, 'never'))).toBe(false);
  });
});

// The pid of a process that has exited (so no process has it, barring reuse in the next moments).
function exitedPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}
