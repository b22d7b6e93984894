import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@es/core';
import { type EmbeddedDatabaseHolder, EmbeddedDatabaseLockedError } from './errors.js';

/** The lock file's name inside the data directory. */
export const EMBEDDED_LOCK_FILE = 'es-embedded-postgres.lock';

/** Options of `lockDataDir` (and of `openEmbeddedPostgres`): how long to wait, and what to tell others. */
export interface LockDataDirOptions {
  /**
   * How long to wait for a live holder to let go, in milliseconds, before throwing
   * `EmbeddedDatabaseLockedError`. Defaults to 0: refuse at once.
   */
  readonly waitMs?: number;
  /** How often to look again while waiting. Defaults to 100 ms. */
  readonly pollIntervalMs?: number;
  /** What to record as this process's command (shown to the processes it keeps out). Defaults to the command line. */
  readonly command?: string;
  /** Called once, when the directory is found held by a live process and this call starts to wait. */
  readonly onWait?: (holder: EmbeddedDatabaseHolder) => void;
}

/** A held data-directory lock. */
export interface DataDirLock {
  readonly dataDir: string;
  readonly lockFile: string;
  /** What the lock file says about this process. */
  readonly holder: EmbeddedDatabaseHolder;
  /** Deletes the lock file if it is still this process's. Safe to call twice. */
  release(): Promise<void>;
}

interface LockRecord extends EmbeddedDatabaseHolder {
  /** Unique per acquisition: tells this lock from a later one by a process with the same pid. */
  readonly token: string;
}

// Every lock this process holds, released synchronously when the process exits normally.
const held = new Map<string, string>(); // lock file -> token
let exitHookInstalled = false;

function releaseAllOnExit(): void {
  for (const [lockFile, token] of held) {
    try {
      if (identityOf(readFileSync(lockFile, 'utf8')) === token) unlinkSync(lockFile);
    } catch {
      // Already gone, or unreadable: nothing of ours to remove.
    }
  }
  held.clear();
}

/**
 * Takes the single-process lock on an embedded PostgreSQL (PGlite) data directory: the file
 * `es-embedded-postgres.lock` inside it, naming this process. The file appears atomically (written
 * aside, then hard-linked into place, which fails if a lock exists), so two processes cannot both
 * take it.
 *
 * A lock whose process is gone (killed, crashed) is stale: it is taken over, and only one newcomer
 * can remove a given stale lock (it must first create a marker file named after that lock's token).
 * A live holder makes this call wait up to `waitMs`, then throw `EmbeddedDatabaseLockedError`
 * naming it. The lock is released by `release()` and, if the process ends normally without it,
 * on exit. A process killed by a signal leaves its lock behind, and the next one takes it over.
 */
export async function lockDataDir(dataDir: string, options: LockDataDirOptions = {}): Promise<DataDirLock> {
  const waitMs = options.waitMs ?? 0;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  if (!Number.isFinite(waitMs) || waitMs < 0) {
    throw new InvalidArgumentError(
      'waitMs',
      `expected a number of milliseconds >= 0, got ${String(waitMs)}.`,
    );
  }
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
    throw new InvalidArgumentError('pollIntervalMs', `expected a number > 0, got ${String(pollIntervalMs)}.`);
  }
  const directory = resolve(dataDir);
  const lockFile = join(directory, EMBEDDED_LOCK_FILE);
  await mkdir(directory, { recursive: true });

  const record: LockRecord = {
    pid: process.pid,
    hostname: osHostname(),
    command: (options.command ?? commandLine()).slice(0, 200),
    since: new Date().toISOString(),
    token: `${process.pid}-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
  };
  const started = Date.now();
  let announced = false;
  for (;;) {
    if (await tryCreate(lockFile, record)) break;
    const found = await readLock(lockFile);
    if (found === undefined) continue; // released in between: try again at once
    const waited = Date.now() - started;
    // A stale lock is removed at once, unless another newcomer is removing it (then look again
    // shortly). Bounded even then: a takeover that never finishes ends in the typed error.
    if (!isAlive(found.record, found.mtimeMs) && waited < Math.max(waitMs, 5_000)) {
      if (!(await takeOver(lockFile, found.identity))) await sleep(20);
      continue;
    }
    if (waited >= waitMs) {
      throw new EmbeddedDatabaseLockedError(directory, lockFile, publicHolder(found.record), waited);
    }
    if (!announced) {
      announced = true;
      options.onWait?.(publicHolder(found.record));
    }
    await sleep(Math.min(pollIntervalMs, waitMs - waited));
  }

  held.set(lockFile, record.token);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', releaseAllOnExit);
  }
  let released = false;
  return {
    dataDir: directory,
    lockFile,
    holder: publicHolder(record),
    async release() {
      if (released) return;
      released = true;
      held.delete(lockFile);
      const found = await readLock(lockFile);
      if (found?.identity === record.token) await rm(lockFile, { force: true });
    },
  };
}

/** Reads who holds the data directory's lock, or `undefined` when nobody does (or the holder is gone). */
export async function readDataDirLock(dataDir: string): Promise<EmbeddedDatabaseHolder | undefined> {
  const found = await readLock(join(resolve(dataDir), EMBEDDED_LOCK_FILE));
  if (found === undefined || !isAlive(found.record, found.mtimeMs)) return undefined;
  return publicHolder(found.record);
}

// Writes the record to a file of its own, then links it to the lock's name: link() fails with
// EEXIST when a lock exists, and a reader never sees a half-written lock.
async function tryCreate(lockFile: string, record: LockRecord): Promise<boolean> {
  const aside = `${lockFile}.${record.token}.tmp`;
  await writeFile(aside, JSON.stringify(record), { flag: 'wx' });
  try {
    await link(aside, lockFile);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errorCode(error) ?? '')) throw error;
    // A file system without hard links: create exclusively (a reader may see it empty for a moment).
    try {
      await writeFile(lockFile, JSON.stringify(record), { flag: 'wx' });
      return true;
    } catch (inner) {
      if (errorCode(inner) === 'EEXIST') return false;
      throw inner;
    }
  } finally {
    await rm(aside, { force: true });
  }
}

interface FoundLock {
  readonly record: LockRecord;
  /** The record's token, or for an unreadable file something unique to that file. */
  readonly identity: string;
  readonly mtimeMs: number;
}

async function readLock(lockFile: string): Promise<FoundLock | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)]);
    const record = parseRecord(text);
    if (record) return { record, identity: record.token, mtimeMs: info.mtimeMs };
    return {
      record: {
        pid: 0,
        hostname: '',
        command: 'unknown (unreadable lock file)',
        since: info.mtime.toISOString(),
        token: '',
      },
      identity: identityOf(text) ?? `unreadable-${info.ino}-${info.mtimeMs}`,
      mtimeMs: info.mtimeMs,
    };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockRecord>;
    if (
      typeof value.pid === 'number' &&
      typeof value.token === 'string' &&
      typeof value.hostname === 'string' &&
      typeof value.since === 'string'
    ) {
      return { ...value, command: typeof value.command === 'string' ? value.command : '' } as LockRecord;
    }
  } catch {
    // Not JSON (being written without hard links, or damaged).
  }
  return undefined;
}

function identityOf(text: string): string | undefined {
  return parseRecord(text)?.token;
}

/**
 * Whether the recorded holder still runs. On another machine it cannot be checked, so it counts as
 * alive. A pid that runs but started after the lock was taken is another process (pid reuse).
 * An unreadable lock counts as alive for 10 seconds (it may be being written), then as stale.
 */
function isAlive(record: LockRecord, mtimeMs: number): boolean {
  if (record.token === '') return Date.now() - mtimeMs < 10_000;
  if (record.hostname !== osHostname()) return true;
  if (!processExists(record.pid)) return false;
  const startedAt = processStartTime(record.pid);
  const since = Date.parse(record.since);
  return startedAt === undefined || Number.isNaN(since) || startedAt <= since + 1_000;
}

function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM'; // exists, but belongs to another user
  }
}

// When a process started, in ms since the epoch: from /proc on Linux, undefined elsewhere.
function processStartTime(pid: number): number | undefined {
  if (pid === process.pid) return Date.now() - process.uptime() * 1000;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22, starttime, in clock ticks after boot
    const bootLine = readFileSync('/proc/stat', 'utf8').match(/^btime (\d+)$/m);
    if (!bootLine || !Number.isFinite(ticks)) return undefined;
    return Number(bootLine[1]) * 1000 + ticks * 10; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * Removes a stale lock. Many newcomers may find the same stale lock; only the one that creates the
 * marker named after its token may remove it, and it removes the lock only if it is still that one
 * (a newcomer that read the stale lock long ago must not remove the lock taken since). Exported for
 * tests only; not part of the package's API.
 */
export async function takeOver(lockFile: string, identity: string): Promise<boolean> {
  const marker = `${lockFile}.takeover-${identity.replace(/[^\w.-]/g, '_')}`;
  try {
    await writeFile(marker, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }), {
      flag: 'wx',
    });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    await removeIfAbandoned(marker);
    return false; // another newcomer is removing it; look again
  }
  try {
    const current = await readLock(lockFile);
    if (current?.identity === identity) await rm(lockFile, { force: true });
  } finally {
    await rm(marker, { force: true });
  }
  await removeLeftovers(lockFile);
  return true;
}

// A marker whose process died between creating and removing it would block the takeover forever.
async function removeIfAbandoned(marker: string): Promise<void> {
  try {
    const { pid } = JSON.parse(await readFile(marker, 'utf8')) as { pid?: number };
    if (typeof pid === 'number' && !processExists(pid)) await rm(marker, { force: true });
  } catch {
    // Gone already, or half-written by a live process: leave it.
  }
}

// The files a killed process may leave beside a lock: `<lock>.<pid>-....tmp`.
async function removeLeftovers(lockFile: string): Promise<void> {
  const directory = join(lockFile, '..');
  const prefix = `${EMBEDDED_LOCK_FILE}.`;
  for (const name of await readdir(directory).catch(() => [] as string[])) {
    const pid =
      name.startsWith(prefix) && name.endsWith('.tmp')
        ? Number(name.slice(prefix.length).split('-')[0])
        : NaN;
    if (Number.isSafeInteger(pid) && pid !== process.pid && !processExists(pid)) {
      await rm(join(directory, name), { force: true });
    }
  }
}

function publicHolder(record: LockRecord): EmbeddedDatabaseHolder {
  return { pid: record.pid, hostname: record.hostname, command: record.command, since: record.since };
}

function commandLine(): string {
  return ['node', ...process.argv.slice(1)].join(' ');
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
