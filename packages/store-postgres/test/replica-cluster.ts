// A primary and a hot standby of it, streaming WAL, for tests that read the log from a replica:
// two throwaway clusters on free local ports in temporary directories, stopped and removed
// afterwards. The standby is a physical copy (pg_basebackup), so it is the same cluster: same system
// identifier, same transaction ids, read-only.
import { join } from 'node:path';
import {
  freePort,
  runPostgresBinary,
  type ScratchCluster,
  scratchClusterIn,
  scratchDirectory,
  startScratchCluster,
} from './scratch-cluster.js';

/** A primary, its streaming standby, and the way to wait until the standby has caught up. */
export interface ReplicaPair {
  readonly primary: ScratchCluster;
  /** A hot standby of `primary`: accepts read-only connections, refuses writes. */
  readonly standby: ScratchCluster;
  /**
   * Waits until the standby has replayed everything the primary has written so far (its replay
   * position reaches the primary's current WAL position), so every transaction committed on the
   * primary before the call is visible on the standby.
   */
  waitForReplay(timeoutMs?: number): Promise<void>;
  /** Stops the standby, then the primary, and removes both directories. */
  destroy(): Promise<void>;
}

const SLOT = 'es_standby';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a primary (wal_level=replica, WAL senders, hot standby allowed), copies it with
 * `pg_basebackup -R -X stream` through a replication slot (so the primary keeps the WAL the standby
 * still needs), and starts the copy as a hot standby on another free port. Resolves once the
 * standby accepts read-only connections and reports that it is in recovery.
 */
export async function startReplicaPair(bin: string): Promise<ReplicaPair> {
  const primary = await startScratchCluster(bin, {
    settings: { max_wal_senders: '4', max_replication_slots: '4', hot_standby: 'on' },
  });
  let standby: ScratchCluster | undefined;
  try {
    const root = scratchDirectory('es-standby');
    const dataDirectory = join(root, 'data');
    await runPostgresBinary(bin, 'pg_basebackup', [
      '-D',
      dataDirectory,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '-C',
      '-S',
      SLOT,
      '--no-sync',
      '-d',
      `host=127.0.0.1 port=${primary.port} user=postgres`,
    ]);
    standby = scratchClusterIn(bin, root, dataDirectory, await freePort(), {
      settings: { hot_standby: 'on' },
    });
    await standby.start();
    await waitUntil(
      async () => (await standby!.psql('SELECT pg_is_in_recovery()').catch(() => '')).trim() === 't',
      60_000,
      'the standby to accept read-only connections',
    );
  } catch (error) {
    await Promise.allSettled([standby?.destroy()]);
    await primary.destroy();
    throw error;
  }
  const replica = standby;
  return {
    primary,
    standby: replica,
    async waitForReplay(timeoutMs = 60_000) {
      const target = (await primary.psql('SELECT pg_current_wal_lsn()')).trim();
      await waitUntil(
        async () =>
          (await replica.psql(`SELECT pg_last_wal_replay_lsn() >= '${target}'::pg_lsn`)).trim() === 't',
        timeoutMs,
        `the standby to replay the primary's WAL up to ${target}`,
      );
    },
    async destroy() {
      try {
        await replica.destroy();
      } finally {
        await primary.destroy();
      }
    },
  };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(20);
  }
}
