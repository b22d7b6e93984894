import { ExpectedVersion, type Position, partitionOf } from '@es/core';
import {
  type PostgresConnection,
  PostgresEventStore,
  PostgresPartitionLeaseStore,
  PostgresProjectionStore,
} from '@es/store-postgres';

/** What the seed wrote, for the tests' expectations. */
export interface Seeded {
  /** Position of each stream's events, by stream id. */
  readonly positions: Record<string, Position[]>;
  /** Every position in log order. */
  readonly all: Position[];
  /** The group's checkpoints: partition 0 at the log's first event, partition 1 none. */
  readonly groupCheckpoint: Position;
  /** The standalone subscription `balances`, at the log's second event. */
  readonly balancesCheckpoint: Position;
  /** Two parked events of `stock#0`. */
  readonly parked: readonly Position[];
}

/** The streams and events every suite starts with. */
export const SEED_EVENTS: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
  ['order-1', 'OrderPlaced', { total: 10 }],
  ['customer-7', 'CustomerRegistered', { name: 'Ada' }],
  ['order-1', 'OrderPaid', { amount: 10 }],
  ['order-2', 'OrderPlaced', { total: 25 }],
  ['order-3', 'OrderPlaced', { total: 7 }],
];

/** Number of partitions of the seeded group `stock`. */
export const PARTITIONS = 2;

/**
 * Seeds a migrated schema through the stores' public APIs: five events in four streams, a consumer
 * group `stock` (2 partitions, worker-a holding partition 0 with a checkpoint and two parked events),
 * and a standalone projection `balances` with a checkpoint.
 */
export async function seed(connection: PostgresConnection, schema: string): Promise<Seeded> {
  const events = new PostgresEventStore({ connection, schema });
  const leases = new PostgresPartitionLeaseStore({ connection, schema });
  const projections = new PostgresProjectionStore({ connection, schema });
  try {
    await events.migrate();
    const positions: Record<string, Position[]> = {};
    const all: Position[] = [];
    for (const [streamId, type, data] of SEED_EVENTS) {
      const result = await events.appendEvents(streamId, ExpectedVersion.Any, [{ type, data }]);
      positions[streamId] = [...(positions[streamId] ?? []), result.lastPosition];
      all.push(result.lastPosition);
    }
    await leases.heartbeat('stock', 'worker-a', PARTITIONS, 600_000);
    const lease = await leases.acquire('stock', 0, 'worker-a', 600_000);
    if (lease === undefined) throw new Error('seed: could not take partition 0');
    const groupCheckpoint = all[0]!;
    const parked = [all[1]!, all[3]!];
    await projections.commitBatch(
      'stock#0',
      undefined,
      groupCheckpoint,
      async (batch) => {
        for (const [index, position] of parked.entries()) {
          const [streamId, type] = SEED_EVENTS[all.indexOf(position)]!;
          await batch.park({
            subscriptionId: 'stock#0',
            position,
            eventId: `00000000-0000-4000-8000-00000000000${index}`,
            streamId,
            eventType: type,
            error: `Error: handler failed on ${streamId}`,
            attempts: 3,
            parkedAt: new Date(),
          });
        }
      },
      lease,
    );
    const balancesCheckpoint = all[1]!;
    await projections.commitBatch('balances', undefined, balancesCheckpoint, async () => undefined);
    return { positions, all, groupCheckpoint, balancesCheckpoint, parked };
  } finally {
    await Promise.all([events.close(), leases.close(), projections.close()]);
  }
}

/** The lag in events the console should show for each partition of `stock`, given the events now in the log. */
export function expectedPartitionLag(
  log: readonly { readonly streamId: string; readonly position: Position }[],
  seeded: Seeded,
): number[] {
  const lags = Array.from({ length: PARTITIONS }, () => 0);
  for (const { streamId, position } of log) {
    const partition = partitionOf(streamId, PARTITIONS);
    const checkpoint = partition === 0 ? seeded.groupCheckpoint : 0n;
    if (position > checkpoint) lags[partition]!++;
  }
  return lags;
}
