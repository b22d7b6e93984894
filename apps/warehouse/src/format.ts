import type { Snapshot, StoredEvent } from '@es/core';
import type { StockRow } from './stock-view.js';
import type { StockGroupStatus } from './stock-workers.js';

/** `2026-11-26 12:34:56` in UTC. */
export function formatTime(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19);
}

/** One line of a product's history, with the schema version the data is in. */
export function formatEvent(event: StoredEvent): string {
  const version = `v${event.version}`.padStart(4);
  return (
    `${version}  ${formatTime(event.timestamp)}  ${event.type.padEnd(18)} ` +
    `schema ${event.schemaVersion}  ${JSON.stringify(event.data)}`
  );
}

/** The stock read model as a small table. */
export function formatStock(rows: readonly StockRow[]): string[] {
  const lines = [
    `${'sku'.padEnd(9)}${'name'.padEnd(14)}${'on hand'.padStart(8)}${'reserved'.padStart(10)}${'available'.padStart(11)}`,
  ];
  for (const row of rows) {
    lines.push(
      `${row.sku.padEnd(9)}${row.name.padEnd(14)}${String(row.onHand).padStart(8)}` +
        `${String(row.reserved).padStart(10)}${String(row.available).padStart(11)}`,
    );
  }
  return lines;
}

/** `snapshot of product-LAMP-01 at version 5`. */
export function formatSnapshot(snapshot: Snapshot): string {
  return `snapshot of ${snapshot.streamId} at version ${snapshot.aggregateVersion}: ${JSON.stringify(snapshot.state)}`;
}

/** The stock group's members, partitions (checkpoint, lease owner, parked events) and stock list. */
export function formatGroup(name: string, status: StockGroupStatus): string[] {
  const lines = [
    `group ${name}: ${status.members.length} member${status.members.length === 1 ? '' : 's'}` +
      (status.members.length > 0 ? ` (${status.members.join(', ')})` : ''),
    `${'partition'.padEnd(11)}${'checkpoint'.padEnd(18)}${'owner'.padEnd(32)}parked`,
  ];
  for (const partition of status.partitions) {
    lines.push(
      `${String(partition.partition).padEnd(11)}${String(partition.checkpoint ?? '-').padEnd(18)}` +
        `${(partition.owner ?? '-').padEnd(32)}${partition.parked}`,
    );
  }
  if (status.partitions.length === 0) lines.push('(no worker has joined yet)');
  return [...lines, '', ...formatStock(status.rows)];
}
