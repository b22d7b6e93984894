import type { Snapshot, StoredEvent } from '@es/core';
import type { ReplayProgress } from '@es/replay';
import type { BalanceRow } from './balances-view.js';

/** `2026-11-26 12:34:56` in UTC. */
export function formatTime(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19);
}

/** One line of an account's history. */
export function formatEvent(event: StoredEvent): string {
  const version = `v${event.version}`.padStart(4);
  return `${version}  ${formatTime(event.timestamp)}  ${event.type.padEnd(15)} ${JSON.stringify(event.data)}`;
}

/** The balances read model as a small table. */
export function formatBalances(rows: readonly BalanceRow[]): string[] {
  const lines = [`${'account'.padEnd(12)}${'owner'.padEnd(10)}${'balance'.padStart(9)}  status  events`];
  for (const row of rows) {
    lines.push(
      `${row.accountId.padEnd(12)}${row.owner.padEnd(10)}${String(row.balance).padStart(9)}  ` +
        `${(row.isOpen ? 'open' : 'closed').padEnd(6)}  ${row.events}`,
    );
  }
  return lines;
}

/** A progress line: `[########------------]  12/30 events  position 12  4 ms`. */
export function formatProgress(progress: ReplayProgress, width = 20): string {
  const ratio = progress.total === 0 ? 1 : Math.min(1, progress.processed / progress.total);
  const filled = Math.round(ratio * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const count = `${progress.processed}/${progress.total}`.padStart(9);
  return `${bar} ${count} events  position ${progress.position}  ${progress.elapsedMs.toFixed(1)} ms`;
}

/** `snapshot of account-alice at version 5`. */
export function formatSnapshot(snapshot: Snapshot): string {
  return `snapshot of ${snapshot.streamId} at version ${snapshot.aggregateVersion}: ${JSON.stringify(snapshot.state)}`;
}
